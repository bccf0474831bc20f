"""Section 6, equivalence: the device computes what the host validated.

* **Device vs host on every beat** (this invocation): each stream of
  section 5 compared every BEAT event (R position, class, int8 scores,
  confidence, uncertain flag, RR intervals) with the host's Python chain and
  ``tflite_micro`` on the same samples, and counted lost events.
* **INFER parity** (this invocation): the model's outputs on the device for
  the bench vectors of section 7's run, against ``tflite_micro``.
* **Engine parity in the test suite** (last test run, JUnit XML): the parity
  tests, how many vectors each judged and on which CPU or kernels, as the
  tests recorded them (``record_property``).
"""

from __future__ import annotations

import re

#: The parity tests of the suite (files), what each compares.
PARITY_TESTS = {
    "tests/engine/test_ops.py": "single-operator models, generated C (host gcc) vs tflite_micro",
    "tests/engine/test_bench_parity.py": "bench models, generated C (host gcc) vs tflite_micro",
    "tests/engine/test_shipped_parity.py": "the shipped model, generated C (host gcc) vs tflite_micro",
    "tests/hil/test_infer.py": "bench models and a 2-input, 2-output model with tensors over one frame, on the "
                               "device (TENSOR_WRITE / INVOKE / TENSOR_READ, and INFER) vs tflite_micro",
    "tests/hil/test_stream.py": "full records streamed through the device vs the host chain + tflite_micro",
    "tests/pipeline/test_ecgdsp_parity.py": "the C signal chain (host gcc) vs the Python chain",
}


def device_vs_host(reports: list[dict]) -> dict:
    rows = []
    for r in reports:
        d = r.get("device", {})
        rows.append({"record": r["record"], "board": d.get("board"), "beats_compared": r["events_received"],
                     "host_beats": r["beats_detected"], "mismatches": r["host_device_mismatches"],
                     "lost_events": r["lost_events"], "error_frames": d.get("error_frames"),
                     "resent_samples": d.get("resent_samples"), "rx_overruns": d.get("rx_overruns"),
                     "model_inputs_compared": d.get("inputs_checked")})
    return {"records": rows,
            "total": {k: sum(x[k] or 0 for x in rows) for k in ("beats_compared", "host_beats", "mismatches",
                                                                 "lost_events", "error_frames", "resent_samples")},
            "compared": "per beat: R position, class, int8 scores, confidence, uncertain flag, RR intervals "
                        "(and the 136 int8 model inputs when streamed with --check-inputs); plus the number of beats"}


def infer_parity(bench_result: dict | None) -> dict | None:
    if not bench_result:
        return None
    return {k: bench_result.get(k) for k in ("model", "model_id", "env", "vectors", "vector_source", "mismatches",
                                             "counter")}


def _file_of(classname: str) -> str:
    """tests.engine.test_ops(.TestX) -> tests/engine/test_ops.py"""
    parts = classname.split(".")
    while parts and not parts[-1].startswith("test_"):
        parts.pop()
    return "/".join(parts) + ".py"


def suite_parity(runs: list[dict]) -> list[dict]:
    """Parity tests of the last run, one row per test function and run: its cases,
    their outcomes, and the vectors and targets (CPU, kernels) they recorded.  A
    test is a parity test when it is in PARITY_TESTS or records "vectors"."""
    groups: dict[tuple, dict] = {}
    for run in runs:
        for case in run["cases"]:
            props = case.get("properties", {})
            file = _file_of(case["classname"])
            if file not in PARITY_TESTS and "vectors" not in props:
                continue
            fn = case["name"].split("[", 1)[0]
            g = groups.setdefault((f"{file}::{fn}", run["file"]), {
                "test": f"{file}::{fn}", "compares": PARITY_TESTS.get(file, ""), "run": run["file"], "cases": 0,
                "outcomes": {}, "vectors": 0, "targets": [], "kernels": []})
            g["cases"] += 1
            g["outcomes"][case["outcome"]] = g["outcomes"].get(case["outcome"], 0) + 1
            m = re.match(r"\s*(\d+)", str(props.get("vectors", "")))
            g["vectors"] += int(m.group(1)) if m else 0
            values = {"targets": [props.get("target")], "kernels": str(props.get("kernels") or "").split(", ")}
            for key, vs in values.items():
                g[key] += [v for v in vs if v and v not in g[key]]
    return list(groups.values())
