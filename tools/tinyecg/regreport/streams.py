"""Section 5, EC57 results through the device, run in this invocation.

Each record is streamed by ``tools/stream.py`` itself (the user's tool, in a
subprocess: the report's record table *is* that tool's JSON), several QEMU
instances in parallel.  Scoring has one home, :mod:`tinyecg.ec57`: gross and
average statistics come from there, never from here.  What this module adds
is what a reviewer needs around the figures: the refusal to report a stream
whose device disagrees with the host or lost an event, the worst records
with an ECG strip of their worst 10 seconds, and how the ``uncertain`` flag
covers the errors.

``excerpt_seconds`` (the quick report of ``make test``) streams the first
seconds of each record, written as WFDB files beside the report (their
SHA-256 listed) so that the same tool streams them unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from .. import data as D
from .. import ec57
from .. import preprocess as P
from .. import report as strips
from .. import stream as S
from ..errors import TinyEcgError
from .evidence import Evidence
from .identify import ROOT

STREAM_TOOL = ROOT / "tools" / "stream.py"
#: Figures of a stream report that depend on the host's timing, not only on the device and the
#: record: wall time, and counter units (they include the UART receive interrupts that happen to
#: arrive during a computation: ~0.01 % run to run under QEMU).
TIMING_DEPENDENT = ("seconds", "device.stream_speed_x_realtime", "device_instructions_per_beat", "device.max_beat_units",
                    "device.chain_units_per_sample", "device.rhythm_units_per_beat", "power")
STRIP_SECONDS = 10.0


# ------------------------------------------------------------------ excerpts
def write_excerpt(rec: str, data_dir, out_dir: Path, seconds: float) -> Path:
    """The first `seconds` of an MIT-BIH record as WFDB files in out_dir (same
    format, gain and baseline: the samples are the original ADC values)."""
    import wfdb
    ddir = D.resolve_data_dir(data_dir)
    n = int(round(seconds * D.FS_IN))
    try:
        r = wfdb.rdrecord(str(ddir / rec), physical=False, sampto=n)
        a = wfdb.rdann(str(ddir / rec), "atr", sampto=n)
    except Exception as exc:
        raise TinyEcgError(f"record {rec}: cannot read it for an excerpt ({type(exc).__name__}: {exc})") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    r.comments = list(r.comments or []) + [f"tinyecg report excerpt: samples 0-{n - 1} of MIT-BIH record {rec}"]
    r.wrsamp(write_dir=str(out_dir))
    a.wrann(write_dir=str(out_dir))
    full, part = D.load_record(rec, ddir), D.load_record(rec, out_dir)
    if not np.array_equal(full.signal[:n], part.signal):
        raise TinyEcgError(f"record {rec}: the excerpt's samples differ from the record's")
    return out_dir / rec


# ------------------------------------------------------------------- streams
def stream_command(record: Path | str, json_out: Path, env: str, port: str | None, model: Path,
                   data_dir=None, baud: int = 115200, build_dir: Path | None = None) -> list[str]:
    cmd = [sys.executable, str(STREAM_TOOL), "--record", str(record), "--json", str(json_out), "--no-progress",
           "--model", str(model)]
    if port:
        cmd += ["--port", port, "--baud", str(baud)]
    else:
        cmd += ["--env", env, "--no-build"]
        if build_dir is not None:
            cmd += ["--build-dir", str(build_dir)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    return cmd


def run_streams(ev: Evidence, records: list, out_dir: Path, env: str, port: str | None, model: Path,
                jobs: int, data_dir=None, baud: int = 115200, build_dir: Path | None = None,
                progress: bool = False) -> list[dict]:
    """Stream every record through tools/stream.py (`jobs` QEMU instances at once; one board: 1)."""
    from tqdm import tqdm
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = 1 if port else max(1, jobs)
    names = [Path(str(r)).name for r in records]

    def one(record, name):
        cmd = stream_command(record, out_dir / f"{name}.json", env, port, model, data_dir, baud, build_dir)
        with ev.run(f"stream record {name} through the device ({'port ' + port if port else env})", cmd) as run:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
            run["returncode"] = proc.returncode
        if proc.returncode != 0:
            lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
            raise TinyEcgError(f"streaming record {name} failed: {lines[-1] if lines else 'no message'}")
        return name

    done = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = [pool.submit(one, r, n) for r, n in zip(records, names)]
        with tqdm(total=len(futs), desc=f"stream {len(futs)} records ({jobs} at once)", unit="rec",
                  disable=not progress, dynamic_ncols=True) as bar:
            for f in as_completed(futs):
                done.append(f.result())
                bar.update(1)
    reports = []
    for name in names:
        path = out_dir / f"{name}.json"
        rep = json.loads(ev.read_text(path, "stream report, tools/stream.py in this invocation"))
        if rep.get("annotations"):
            ev.note_file(Path(rep["annotations"]), "the device's beat annotations (WFDB), this invocation")
        reports.append(rep)
    return reports


def refuse_disagreement(reports: list[dict]) -> None:
    """No clean-looking table over a device that disagrees with the host or lost events."""
    bad = [r for r in reports if r.get("host_device_mismatches") or r.get("lost_events")]
    if bad:
        what = ", ".join(f"record {r['record']}: {r.get('host_device_mismatches', 0)} host/device mismatches, "
                         f"{r.get('lost_events', 0)} lost events" for r in bad)
        raise TinyEcgError(f"refusing to build the report: {what} -- the device did not compute what the host "
                           "validated, so its figures are not the validated algorithm's")


def check_device(reports: list[dict], model_id: str, board: str) -> None:
    for r in reports:
        d = r.get("device", {})
        if d.get("model") != model_id or d.get("board") != board:
            raise TinyEcgError(f"record {r['record']} was streamed to board {d.get('board')} running model "
                               f"{d.get('model')}, not {board} / {model_id}")


# ----------------------------------------------------------- per-beat views
def _device_beats(ann_file: Path):
    """(R at 360 Hz, label letters, uncertain flags) of a tools/stream.py annotation file."""
    import wfdb
    ann_file = Path(ann_file)
    a = wfdb.rdann(str(ann_file.with_suffix("")), ann_file.suffix.lstrip("."))
    scale = P.FS_IN / float(a.fs or P.FS_IN)
    r = np.round(np.asarray(a.sample, dtype=np.float64) * scale).astype(np.int64)
    sym = np.asarray(a.symbol)
    unc = np.array(["uncertain" in (x or "") for x in (a.aux_note or [""] * len(sym))], dtype=bool)
    keep = np.isin(sym, list(ec57.LABELS[:5]))
    return r[keep], sym[keep], unc[keep]


def beat_view(record_path: Path | str, ann_file: Path, data_dir=None) -> dict:
    """Matched reference/device beats of one streamed record (ec57.compare, scored part)."""
    rec = S.load_stream_record(str(record_path), data_dir)
    det_r, det_l, det_u = _device_beats(ann_file)
    cmp_ = ec57.compare(rec.ref_r, ec57.aami_labels(rec.ref_sym), det_r, det_l, P.FS_IN)
    ref_l = ec57.aami_labels(rec.ref_sym)
    return {"rec": rec, "cmp": cmp_, "ref_l": ref_l, "det_r": det_r, "det_l": det_l, "det_u": det_u}


def error_times(view: dict) -> np.ndarray:
    """Seconds of every disagreement in the scored part: missed, false, or misclassified (N S V F) beats."""
    cmp_, rec = view["cmp"], view["rec"]
    times = []
    det_idx = {lab: i for i, lab in enumerate(ec57.LABELS)}
    for i, k in zip(cmp_.ref_index, cmp_.test_index):
        ref_lab = ec57.LABELS[view["ref_l"][i]]
        if k < 0:
            times.append(rec.ref_r[i])
        elif ref_lab in D.CLASSES and det_idx[str(view["det_l"][k])] != view["ref_l"][i]:
            times.append(rec.ref_r[i])
    times += [view["det_r"][k] for k in cmp_.false_test_index]
    return np.sort(np.asarray(times, dtype=np.float64)) / P.FS_IN


def worst_window(times: np.ndarray, start_s: float, end_s: float, seconds: float = STRIP_SECONDS) -> tuple[float, int]:
    """Start of the `seconds` window (from start_s) holding the most disagreements."""
    if times.size == 0:
        return start_s, 0
    best, best_n = start_s, 0
    for t in times:
        a = min(max(start_s, t - 0.2 * seconds), max(start_s, end_s - seconds))
        n = int(((times >= a) & (times < a + seconds)).sum())
        if n > best_n:
            best, best_n = a, n
    return float(best), best_n


def uncertain_coverage(views: dict[str, dict]) -> dict:
    """How the device's `uncertain` flag covers its classification errors, over the
    scored, matched beats whose reference class is one the model names."""
    rows, tot = [], np.zeros(4, dtype=np.int64)    # beats, flagged, wrong, wrong & flagged
    for name, v in views.items():
        cmp_ = v["cmp"]
        ok = cmp_.test_index >= 0
        ri, ti = cmp_.ref_index[ok], cmp_.test_index[ok]
        ref_lab = np.array([ec57.LABELS[x] for x in v["ref_l"][ri]])
        cls = np.isin(ref_lab, list(D.CLASSES))
        ref_lab, ti = ref_lab[cls], ti[cls]
        wrong = v["det_l"][ti] != ref_lab
        flag = v["det_u"][ti]
        c = np.array([len(ti), flag.sum(), wrong.sum(), (wrong & flag).sum()], dtype=np.int64)
        tot += c
        rows.append({"record": name, **_coverage(c)})
    return {"records": rows, "total": _coverage(tot),
            "definition": "matched beats from the end of the learning period whose reference class is N, S, V "
                          "or F; 'wrong' = the device's class differs from the reference class"}


def _coverage(c) -> dict:
    n, f, w, wf = (int(x) for x in c)

    def pct(a, b):
        return round(100.0 * a / b, 2) if b else None
    return {"beats": n, "flagged": f, "flagged_pct": pct(f, n), "coverage_pct": pct(n - f, n), "errors": w,
            "error_rate_flagged_pct": pct(wf, f), "error_rate_unflagged_pct": pct(w - wf, n - f),
            "errors_flagged_pct": pct(wf, w)}


# ------------------------------------------------------------------- section
def error_count(matrix) -> int:
    """Disagreements in a record's scored comparison matrix: missed and false beats
    and misclassified N/S/V/F beats (reference Q beats have no class to get wrong)."""
    m = np.asarray(matrix, dtype=np.int64)
    o = ec57.O
    cls = [ec57.LABELS.index(c) for c in D.CLASSES]
    wrong = int(m[np.ix_(cls, cls)].sum() - np.trace(m[np.ix_(cls, cls)]))
    return wrong + int(m[:o, o].sum()) + int(m[o, :o].sum())


def ec57_section(ev: Evidence, reports: list[dict], record_paths: dict, out_dir: Path, data_dir=None,
                 n_worst: int = 3, progress: bool = False) -> dict:
    refuse_disagreement(reports)
    scored = [r for r in reports if r.get("scoring")]
    if not scored:
        raise TinyEcgError("no streamed record has reference annotations: nothing to score")
    mats = [r["scoring"]["matrix"] for r in scored]
    per_record_stats = [ec57.beat_statistics(m) for m in mats]
    conventions = {"match_window_ms": round(1000 * ec57.MATCH_SECONDS),
                   "learning_period_s": ec57.LEARNING_SECONDS,
                   "streams_used": sorted({(r["scoring"]["match_ms"], r["scoring"]["from_seconds"]) for r in scored})}
    for ms, start in conventions["streams_used"]:
        if ms != conventions["match_window_ms"] or start != conventions["learning_period_s"]:
            raise TinyEcgError(f"a stream was scored with a {ms} ms window from {start} s, not EC57's "
                               f"{conventions['match_window_ms']} ms from {conventions['learning_period_s']} s")
    gross, whole = S.gross(scored), S.gross(scored, "whole_record")
    average = ec57.average(per_record_stats)

    # worst records, their worst 10 seconds, and the uncertain flag (per beat)
    views = {}
    from tqdm import tqdm
    for r in tqdm(scored, desc="per-beat views", unit="rec", disable=not progress, leave=False):
        views[r["record"]] = beat_view(record_paths[r["record"]], Path(r["annotations"]), data_dir)
    ranked = sorted(scored, key=lambda r: -error_count(r["scoring"]["matrix"]))
    worst = []
    for r in ranked[:n_worst]:
        v = views[r["record"]]
        times = error_times(v)
        end = (r["samples_sent"] - r.get("tail_samples", 0)) / P.FS_IN   # the record, not the end-of-recording tail
        start, n_err = worst_window(times, ec57.LEARNING_SECONDS if end > ec57.LEARNING_SECONDS + STRIP_SECONDS
                                    else 0.0, end)
        png = out_dir / f"strip_{r['record']}.png"
        strip = strips.ecg_strip(record_paths[r["record"]], Path(r["annotations"]), png, start, STRIP_SECONDS,
                                 data_dir)
        ev.note_file(png, "ECG strip drawn in this invocation")
        worst.append({"record": r["record"], "errors_scored": error_count(r["scoring"]["matrix"]),
                      "strip_png": png.name, "strip_start_s": round(start, 2), "strip_seconds": STRIP_SECONDS,
                      "errors_in_strip": n_err, "reference_beats_in_strip": strip.reference_beats,
                      "device_beats_in_strip": strip.device_beats, "uncertain_in_strip": strip.uncertain})
    return {
        "standard": "ANSI/AAMI EC57 beat-by-beat comparison (WFDB bxb conventions), tinyecg.ec57",
        "conventions": conventions,
        "exceptions": list(ec57.EXCEPTIONS),
        "records": reports,
        "gross": gross, "average": average, "gross_whole_record": whole,
        "matrix_labels": list(ec57.LABELS),
        "worst": worst,
        "uncertain": uncertain_coverage(views),
    }


def comparable(rep: dict) -> dict:
    """A stream report without its timing-dependent figures and file paths: what two
    streams of the same record through the same image must share exactly."""
    top = {k for k in TIMING_DEPENDENT if "." not in k} | {"annotations", "rhythm_annotations"}
    out = {k: v for k, v in rep.items() if k not in top}
    for k in TIMING_DEPENDENT:
        if "." in k:
            part, key = k.split(".", 1)
            if isinstance(out.get(part), dict):
                out[part] = {x: v for x, v in out[part].items() if x != key}
    return out
