"""The device's rhythm stage (firmware/lib/ecgdsp/src/ecg_rhythm.c) equals tinyecg.rhythm, bit for bit,
and its HRV equals neurokit2's on the same NN series.

The C is compiled for the host (with -fsanitize=undefined,address) and fed
the same beat sequences as the Python: real MIT-BIH rhythms (the reference
beats and their AAMI labels of records with AF, ventricular runs and
bigeminy), the synthetic rhythms of tinyecg.rr_models (AF, paroxysms,
bigeminy, block, sick-sinus pauses) and synthetic sequences that reach the
edges (RR 1 and 4095, every class code, gaps longer than an HRV window).
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyecg import data as D
from tinyecg import preprocess as P
from tinyecg import rhythm as R
from tinyecg import rr_models as M
from tinyecg.errors import TinyEcgError

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "firmware" / "lib" / "ecgdsp"
HARNESS = Path(__file__).with_name("rhythm_harness.c")
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g",
          "-fsanitize=undefined,address", "-fno-sanitize-recover=all"]
EVENT = np.dtype([(k, "<i4") for k in ("kind", "t", "a", "b", "c", "d", "e", "f")])


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    out = tmp_path_factory.mktemp("rhythm") / "rhythm_harness"
    subprocess.run(["gcc", *CFLAGS, f"-I{LIB / 'include'}", str(LIB / "src" / "ecg_rhythm.c"), str(HARNESS),
                    "-o", str(out)], check=True, capture_output=True, text=True)
    return out


def run_c(exe, beats) -> list[tuple]:
    b = np.asarray(beats, dtype="<i4").reshape(-1, 3)
    res = subprocess.run([str(exe)], input=struct.pack("<i", len(b)) + b.tobytes(), capture_output=True, check=True)
    m = struct.unpack_from("<i", res.stdout)[0]
    ev = np.frombuffer(res.stdout, dtype=EVENT, count=m, offset=4)
    return [tuple(int(x) for x in e) for e in ev]


def run_py(beats) -> list[tuple]:
    return [e.as_tuple() for e in R.Rhythm().run(beats)]


def reference_beats(rec) -> list[tuple]:
    """(r, cls, pre) of a record's annotated beats, as the chain would see them."""
    try:
        r = D.load_record(rec)
    except TinyEcgError as exc:
        pytest.fail(f"{exc} (needs MIT-BIH: `make data`)")
    j = np.unique(P.raw_to_j(r.r_samples), return_index=True)
    rj, first = j
    cls = [D.CLASSES.index(D.AAMI.get(s, "Q")) if D.AAMI.get(s, "Q") in D.CLASSES else 4 for s in r.symbols[first]]
    pre = np.minimum(np.diff(rj), P.RR_CLAMP)
    return [(int(a), int(c), int(p)) for a, c, p in zip(rj[1:], cls[1:], pre)]


@pytest.mark.parametrize("rec", [201, 203, 208, 119, 100])
def test_record_rhythm_equals_python(harness, rec):
    beats = reference_beats(rec)
    py = run_py(beats)
    assert run_c(harness, beats) == py
    kinds = {e[0] for e in py}
    assert {R.HR, R.HRV} <= kinds                       # measurements every 10 s and 5 min
    if rec in (201, 203):
        assert R.AF_ON in kinds                          # reference AF beats are irregular
    if rec in (203, 208):
        assert R.RUN in kinds                            # ventricular couplets and runs


def _synthetic(seed, n=6000):
    rng = np.random.default_rng(seed)
    pre = rng.integers(1, 4096, n)
    normal = rng.random(n) < 0.7
    pre[normal] = rng.integers(100, 200, int(normal.sum()))
    pre = np.where(rng.random(n) < 0.1, rng.choice([1, 2, 4095], n), pre)
    cls = rng.choice([0, 0, 0, 1, 2, 3, 255, -1], n)
    r = np.cumsum(pre) + 400
    return [(int(a), int(c), int(p)) for a, c, p in zip(r, cls, pre)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_extremes_equal_python(harness, seed):
    beats = _synthetic(seed)
    py = run_py(beats)
    assert len(py) > 100
    assert run_c(harness, beats) == py


@pytest.mark.parametrize("kind", M.KINDS + ("paroxysmal",))
def test_synthetic_rhythms_equal_python(harness, kind):
    # AF, bigeminy, trigeminy, block, sick-sinus pauses: every branch of the AF stage
    # (pauses, the regularity veto starting and ending episodes) is taken
    rng = np.random.default_rng([7, len(kind)])
    rr, lab = M.paroxysmal(rng)[:2] if kind == "paroxysmal" else M.rhythm(kind, rng)
    beats = M.as_beats(rr, lab)
    py = run_py(beats)
    assert run_c(harness, beats) == py
    if kind in ("af", "paroxysmal"):
        assert any(e[0] == R.AF_ON for e in py)


def run_c_report(exe, beats) -> tuple[list[tuple], list[int]]:
    """The C in the firmware's order: reported class first, then the beat pushed with it."""
    b = np.asarray(beats, dtype="<i4").reshape(-1, 3)
    res = subprocess.run([str(exe), "report"], input=struct.pack("<i", len(b)) + b.tobytes(),
                         capture_output=True, check=True)
    m = struct.unpack_from("<i", res.stdout)[0]
    ev = np.frombuffer(res.stdout, dtype=EVENT, count=m, offset=4)
    cls = np.frombuffer(res.stdout, dtype="<i4", count=len(b), offset=4 + m * EVENT.itemsize)
    return [tuple(int(x) for x in e) for e in ev], [int(c) for c in cls]


def run_py_report(beats) -> tuple[list[tuple], list[int]]:
    events, cls = R.Rhythm().run_reported(beats)
    return [e.as_tuple() for e in events], cls


@pytest.mark.parametrize("kind", ["af", "paroxysmal", "pac"])
def test_reported_class_no_s_inside_af(harness, kind):
    # every 5th beat called S by a (hypothetical) classifier: inside a detected AF episode the
    # rhythm stage reports it N, outside it stays S -- C and Python alike
    rng = np.random.default_rng([11, len(kind)])
    rr, lab = M.paroxysmal(rng)[:2] if kind == "paroxysmal" else M.rhythm(kind, rng)
    beats = [(r, 1 if i % 5 == 0 and c == 0 else c, p) for i, (r, c, p) in enumerate(M.as_beats(rr, lab))]
    py_events, py_cls = run_py_report(beats)
    assert run_c_report(harness, beats) == (py_events, py_cls)
    called_s = [i for i, b in enumerate(beats) if b[1] == 1]
    reported_s = [i for i in called_s if py_cls[i] == 1]
    # the vectorised form used by evaluate and the host reference gives the same classes
    r, c, p = (np.array(x) for x in zip(*beats))
    assert R.report_classes(r, c, p).tolist() == py_cls
    if kind == "pac":
        assert reported_s == called_s                   # no AF: every S call stands
        assert not any(e[0] == R.AF_ON for e in py_events)
    else:
        assert any(e[0] == R.AF_ON for e in py_events)
        assert len(reported_s) < len(called_s)          # S calls inside AF became N
        assert all(py_cls[i] in (0, 1) for i in called_s)
    others = sorted(set(range(len(beats))) - set(called_s))
    assert [py_cls[i] for i in others] == [beats[i][1] for i in others]   # only S calls ever change


def test_isqrt_is_floor_sqrt():
    import math
    rng = np.random.default_rng(3)
    for v in [0, 1, 2, 3, 4, 15, 16, 17, (1 << 62) - 1, (1 << 64) - 1] + [int(x) for x in rng.integers(0, 1 << 62, 200)]:
        assert R.isqrt(v) == math.isqrt(v)


def _nn_series(beats, win):
    """The NN intervals tinyecg.rhythm accumulates for HRV window `win` (samples at 180 Hz)."""
    nn, prev = [], -1
    for r, c, p in beats:
        if r // R.HRV_WINDOW == win and c == 0 and prev == 0:
            nn.append(p)
        prev = c
    return np.asarray(nn, dtype=np.float64)


@pytest.mark.parametrize("rec", [100, 201, 119])
def test_hrv_within_one_percent_of_neurokit2(rec):
    import warnings
    import neurokit2 as nk
    beats = reference_beats(rec)
    hrv = [e for e in R.Rhythm().run(beats) if e.kind == R.HRV]
    assert len(hrv) >= 5
    for e in hrv:
        nn_ms = _nn_series(beats, e.a) * 1000.0 / R.FS
        assert len(nn_ms) == e.b
        peaks = np.concatenate([[0.0], np.cumsum(nn_ms)])      # the same NN series as peak times (ms)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = nk.hrv_time(np.round(peaks).astype(int), sampling_rate=1000)
        sdnn = e.d / 256 * 1000.0 / R.FS
        rmssd = e.e / 256 * 1000.0 / R.FS
        mean = e.c / 256 * 1000.0 / R.FS
        assert abs(sdnn - ref["HRV_SDNN"].iloc[0]) <= 0.01 * ref["HRV_SDNN"].iloc[0], (e, ref["HRV_SDNN"].iloc[0])
        assert abs(rmssd - ref["HRV_RMSSD"].iloc[0]) <= 0.01 * ref["HRV_RMSSD"].iloc[0], (e, ref["HRV_RMSSD"].iloc[0])
        assert abs(mean - ref["HRV_MeanNN"].iloc[0]) <= 0.01 * ref["HRV_MeanNN"].iloc[0]
