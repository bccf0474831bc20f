"""Section 7, resources: image sizes of every env, and what the device spent.

* flash and RAM of every env of ``platformio.ini``, built in this invocation
  (``pio run``; sizes from ``arm-none-eabi-size``), against the MCU's limits;
* arena, stack peak and instructions (QEMU) per layer: ``tools/bench.py``'s
  library run on the shipped model with per-layer counters (QEMU only: a
  board would need a profiling image flashed);
* instructions or cycles per beat and per sample, duty cycle and battery
  estimate from the streams of section 5, with the current profile they
  assume.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import bench, firmware
from ..errors import TinyEcgError
from .evidence import Evidence


def env_sizes(ev: Evidence, envs: list[str], progress: bool = False) -> list[dict]:
    from tqdm import tqdm
    rows = []
    for env in tqdm(envs, desc="build every env", unit="env", disable=not progress, leave=False):
        with ev.run(f"build env {env}", ["pio", "run", "-e", env]):
            elf = firmware.build(env)
        size = firmware.image_size(elf)
        cfg = firmware.board_config(env)
        up = cfg.get("upload", {})
        b = elf.with_name("firmware.bin")
        rows.append({"env": env, "board": cfg.get("name"), "cpu": cfg.get("build", {}).get("cpu"),
                     "flash_bytes": size["flash_bytes"], "flash_max": up.get("maximum_size"),
                     "ram_bytes": size["ram_bytes"], "stack_reserve_bytes": size["stack_reserve_bytes"],
                     "ram_max": up.get("maximum_ram_size"),
                     "image_sha256": ev.note_file(b, f"firmware image of {env}, built in this invocation")
                     if b.is_file() else None})
    return rows


def model_bench(ev: Evidence, model: Path, env: str, work: Path) -> dict:
    """The shipped model on the device with per-layer counters (tools/bench.py --profile)."""
    with ev.run(f"bench the model on {env} with per-layer counters",
                ["python", "tools/bench.py", "--model", str(model), "--env", env, "--profile"]):
        res = bench.bench(model, env, work=work, profile=True).data
    if res["mismatches"]:
        raise TinyEcgError(f"refusing to build the report: {res['mismatches']} of {res['vectors']} INFER outputs "
                           f"on {env} differ from tflite_micro")
    return res


def stream_costs(reports: list[dict]) -> dict:
    """Per-beat and per-sample cost and the power estimate, per record and over all records."""
    rows = []
    for r in reports:
        d, p = r["device"], r["power"]
        rows.append({"record": r["record"], "counter": d.get("counter"), "per_beat_mean": r["device_instructions_per_beat"],
                     "per_beat_max": d.get("max_beat_units"), "chain_per_sample": d.get("chain_units_per_sample"),
                     "duty_cycle_pct": p["duty_cycle_pct"], "avg_current_ma": p["avg_current_ma"],
                     "battery_hours": p["battery_hours"]})
    beats = np.array([r["events_received"] for r in reports], dtype=np.float64)
    per_beat = np.array([r["device_instructions_per_beat"] or 0 for r in reports], dtype=np.float64)
    p0 = reports[0]["power"]
    profile = {k: p0[k] for k in ("clock_hz", "run_ma", "sleep_ua", "battery_mah")}
    if any({k: r["power"][k] for k in profile} != profile for r in reports):
        raise TinyEcgError("the streams assumed different current profiles: their power figures do not compare")
    duty = [r["power"]["duty_cycle_pct"] for r in reports]
    hours = [r["power"]["battery_hours"] for r in reports]
    return {"records": rows, "counter": reports[0]["device"].get("counter"),
            "note": "counter figures of a stream include the UART receive interrupts that happen to arrive during "
                    "a computation, so they vary by a few hundredths of a percent from run to run; the model's "
                    "INFER figures above are exact",
            "per_beat_mean_over_beats": round(float(np.average(per_beat, weights=beats))) if beats.sum() else None,
            "per_beat_max": max(r["device"].get("max_beat_units") or 0 for r in reports),
            "duty_cycle_pct": {"min": min(duty), "max": max(duty), "mean": round(float(np.mean(duty)), 3)},
            "battery_hours": {"min": min(hours), "max": max(hours), "mean": round(float(np.mean(hours)), 1)},
            "meets_24h_all_records": all(r["power"]["meets_24h"] for r in reports),
            "current_profile": {**profile, "note": "CPU only (no analog front end, no radio); run current while "
                                "computing, sleep current in WFI with clocks running; on QEMU the counter counts "
                                "instructions, so a real Cortex-M needs CPI (about 1.1-1.5) times the duty cycle"}}
