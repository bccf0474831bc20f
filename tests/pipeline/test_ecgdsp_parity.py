"""The device's C signal chain (firmware/lib/ecgdsp) equals the Python one, bit for bit.

The C is compiled for the host with gcc (-fsanitize=undefined,address on
the synthetic cases) and fed the same raw samples as
``tinyecg.preprocess``; w, the detector's R positions, beat windows, RR
features, and the int8 model inputs must be identical.  Real MIT-BIH records
are compared whole against the vectorised twin (itself held equal to the
streaming reference by tests/test_preprocess.py) and, over their first
minutes, directly against the streaming reference ``Chain``.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyecg import data
from tinyecg import preprocess as P
from tinyecg.errors import TinyEcgError

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "firmware" / "lib" / "ecgdsp"
HARNESS = Path(__file__).with_name("ecgdsp_harness.c")
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic"]

# Two requantizer pairs: a typical one and an extreme one (tiny scale, big zp:
# lots of clamping) so both rounding and saturation are exercised.
RQ_SETS = [
    (P.Requant.from_scale(P.WAVE_UNIT, 0.0211, -7), P.Requant.from_scale(P.FEAT_UNIT, 0.0157, -128)),
    (P.Requant.from_scale(P.WAVE_UNIT, 0.00093, 41), P.Requant.from_scale(P.FEAT_UNIT, 0.1, 3)),
]


def _build(out: Path, sanitize: bool) -> Path:
    flags = CFLAGS + (["-g", "-fsanitize=undefined,address", "-fno-sanitize-recover=all"] if sanitize else [])
    sources = sorted(str(s) for s in (LIB / "src").glob("*.c"))   # the whole library, as PlatformIO builds it
    cmd = ["gcc", *flags, f"-I{LIB / 'include'}", *sources, str(HARNESS), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    d = tmp_path_factory.mktemp("ecgdsp")
    return {"fast": _build(d / "h_fast", False), "san": _build(d / "h_san", True)}


class CResult:
    def __init__(self, raw: bytes):
        off = 0

        def take(dtype, count):
            nonlocal off
            a = np.frombuffer(raw, dtype=dtype, count=count, offset=off)
            off += a.nbytes
            return a

        n_w = int(take(np.int32, 1)[0])
        self.w = take(np.int16, n_w).astype(np.int64)
        n_d = int(take(np.int32, 1)[0])
        self.det = take(np.int32, n_d).astype(np.int64)
        n_b = int(take(np.int32, 1)[0])
        rec = np.dtype([("r", "<i4"), ("pre", "<i4"), ("post", "<i4"), ("feats", "<i4", 8),
                        ("window", "<i2", 128), ("wave", "i1", 128), ("rr", "i1", 8)])
        b = take(rec, n_b)
        assert off == len(raw), "trailing bytes from the harness"
        self.r, self.pre, self.post = b["r"].astype(np.int64), b["pre"].astype(np.int64), b["post"].astype(np.int64)
        self.feats, self.windows = b["feats"].astype(np.int64), b["window"].astype(np.int64)
        self.wave, self.rr = b["wave"].copy(), b["rr"].copy()


def run_c(exe: Path, x, rq=RQ_SETS[0], r_j=None) -> CResult:
    x = np.asarray(x, dtype=np.int16)
    payload = struct.pack("<i", x.size) + x.astype("<i2").tobytes()
    if r_j is not None:
        r_j = np.asarray(r_j, dtype=np.int32)
        payload += struct.pack("<i", r_j.size) + r_j.astype("<i4").tobytes()
    wq, fq = rq
    args = [str(exe), "ext" if r_j is not None else "det"] + [
        str(v) for v in (wq.mult, wq.shift, wq.zp, fq.mult, fq.shift, fq.zp)]
    res = subprocess.run(args, input=payload, capture_output=True, check=True)
    return CResult(res.stdout)


def assert_beats_equal(c: CResult, r, pre, post, feats, windows, rq):
    wq, fq = rq
    assert np.array_equal(c.r, np.asarray(r, dtype=np.int64))
    assert np.array_equal(c.pre, np.asarray(pre, dtype=np.int64))
    assert np.array_equal(c.post, np.asarray(post, dtype=np.int64))
    assert np.array_equal(c.feats, np.asarray(feats, dtype=np.int64).reshape(-1, 8))
    assert np.array_equal(c.windows, np.asarray(windows, dtype=np.int64).reshape(-1, 128))
    assert np.array_equal(c.wave, wq.apply(np.asarray(windows).reshape(-1, 128)))
    assert np.array_equal(c.rr, fq.apply(np.asarray(feats).reshape(-1, 8)))


def compare_streaming(exe, x, rq=RQ_SETS[0], r_raw=None):
    """C vs the streaming reference classes, sample by sample."""
    fe, det = P.Frontend(), P.Detector()
    w, rs = [], []
    for v in np.asarray(x).tolist():
        o = fe.push(int(v))
        if o is not None:
            w.append(o)
            rs += det.push(o)
    chain = P.Chain(r_raw=r_raw)
    beats = chain.run(np.asarray(x).tolist())
    r_j = None if r_raw is None else sorted(set(int(P.raw_to_j(int(r))) for r in r_raw))
    c = run_c(exe, x, rq, r_j)
    assert np.array_equal(c.w, np.asarray(w, dtype=np.int64))
    assert np.array_equal(c.det, np.asarray(rs, dtype=np.int64))
    assert_beats_equal(c, [b.r for b in beats], [b.pre for b in beats], [b.post for b in beats],
                       [b.feats for b in beats], [b.window for b in beats], rq)
    return c


def compare_block(exe, x, rq=RQ_SETS[0]):
    """C vs the vectorised twin over a whole record (detector path)."""
    w = P.frontend_block(x)
    r = P.detect_block(w)
    b = P.beats_block(w, r)
    c = run_c(exe, x, rq)
    assert np.array_equal(c.w, w)
    assert np.array_equal(c.det, r)
    assert_beats_equal(c, b["r"], b["pre"], b["post"], b["feats"], b["windows"], rq)
    return c


def _record(name):
    try:
        return data.load_record(name)
    except TinyEcgError as exc:
        pytest.skip(str(exc))


# ------------------------------------------------------------- synthetic cases
def _synthetic_ecg(seconds=30, hr=72, seed=0, amp=600, noise=8, offset=1024):
    rng = np.random.default_rng(seed)
    n = int(seconds * 360)
    t = np.arange(n)
    x = offset + noise * rng.standard_normal(n) + 80 * np.sin(2 * np.pi * 0.3 * t / 360)
    period = 360 * 60 / hr
    beat = np.exp(-0.5 * ((np.arange(-20, 21)) / 4.0) ** 2)
    pos = np.arange(200, n - 30, period).astype(int)
    pos = pos + rng.integers(-15, 16, size=pos.size)
    for p in pos:
        x[p - 20:p + 21] += amp * beat
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


SYNTHETIC = {
    "empty": np.zeros(0, dtype=np.int16),
    "one_sample": np.array([1234], dtype=np.int16),
    "odd_length": np.full(1001, 1024, dtype=np.int16),
    "constant": np.full(3600, 1024, dtype=np.int16),
    "negative_constant": np.full(3600, -3000, dtype=np.int16),
    "full_scale_square": np.tile(np.r_[np.full(90, 32767), np.full(90, -32768)], 30).astype(np.int16),
    "impulses": np.where(np.arange(9000) % 300 == 0, 32767, 0).astype(np.int16),
    "white_noise": np.random.default_rng(1).integers(-32768, 32768, 9000).astype(np.int16),
    "sine_60hz_mains": np.round(1024 + 300 * np.sin(2 * np.pi * 60 * np.arange(7200) / 360)).astype(np.int16),
    "ecg_like": _synthetic_ecg(),
    "ecg_fast_hr_180": _synthetic_ecg(hr=180, seed=2),
    "ecg_slow_hr_30_with_pause": np.r_[_synthetic_ecg(20, 30, 3), np.full(360 * 7, 1024),
                                       _synthetic_ecg(20, 60, 4)].astype(np.int16),
    "huge_beats_saturate": _synthetic_ecg(20, 80, 5, amp=30000, offset=0),
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_equals_streaming_reference(harness, name):
    x = SYNTHETIC[name]
    for rq in RQ_SETS:
        compare_streaming(harness["san"], x, rq)


def test_synthetic_beats_are_detected(harness):
    # the synthetic ECG must actually produce beats, or the cases above prove little
    c = compare_streaming(harness["san"], SYNTHETIC["ecg_like"])
    assert len(c.r) > 25 and len(c.det) == len(c.r) + 2


def test_external_r_positions_equal_reference(harness):
    x = SYNTHETIC["ecg_like"]
    # arbitrary R positions, including ones closer than the refractory period,
    # ones in the warm-up, duplicates after mapping (r and r+1) and huge gaps
    r_raw = [10, 700, 701, 760, 1500, 1510, 2500, 6000, 6100, 6150, 9000, 9050, 9100, 10500]
    for rq in RQ_SETS:
        c = compare_streaming(harness["san"], x, rq, r_raw=r_raw)
    assert len(c.r) >= 8
    assert c.pre.min() < 37   # sub-refractory RR intervals really went through


def test_requant_matches_python_on_full_range(harness):
    # every int16 window value through both requantizers (rounding + clamping)
    vals = np.arange(-32768, 32768, 7, dtype=np.int64)
    for wq, fq in RQ_SETS:
        for q in (wq, fq):
            py = np.array([q.apply_one(int(v)) for v in vals[::97]], dtype=np.int64)
            assert np.array_equal(py, q.apply(vals[::97]).astype(np.int64))
    # the C side of the same: windows that sweep the range, via external R
    x = np.tile(np.r_[np.arange(-32768, 32767, 257), np.arange(32767, -32768, -257)], 8).astype(np.int16)
    r_raw = list(range(800, x.size - 400, 300))
    compare_streaming(harness["san"], x, RQ_SETS[1], r_raw=r_raw)


# ---------------------------------------------------------------- MIT-BIH records
@pytest.mark.parametrize("rec", [100, 203, 208])
def test_record_head_equals_streaming_reference(harness, rec):
    x = _record(rec).signal[: 360 * 120]          # 2 minutes, pure-Python reference
    c = compare_streaming(harness["fast"], x)
    assert len(c.r) > 100


@pytest.mark.parametrize("rec", [105, 119, 207, 232])
def test_whole_record_equals_vectorised(harness, rec):
    x = _record(rec).signal
    for rq in RQ_SETS:
        c = compare_block(harness["fast"], x, rq)
    assert len(c.r) > 1000


def test_whole_record_with_annotations_equals_vectorised(harness):
    r = _record(201)
    w = P.frontend_block(r.signal)
    r_j = np.unique(P.raw_to_j(r.r_samples))
    b = P.beats_block(w, r_j)
    c = run_c(harness["fast"], r.signal, RQ_SETS[0], r_j)
    assert_beats_equal(c, b["r"], b["pre"], b["post"], b["feats"], b["windows"], RQ_SETS[0])
    assert len(c.r) == len(b["r"]) > 1500
