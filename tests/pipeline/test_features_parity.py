"""The device's patient-adaptive stage (firmware/lib/ecgdsp/src/ecg_features.c) equals
tinyecg.features, bit for bit.

The C is compiled for the host with gcc (-fsanitize=undefined,address on the
synthetic cases) and runs behind the C chain on the same raw samples: the
beat-minus-template channel and the 8 extra features of every beat must be
identical to :class:`tinyecg.features.Features` run behind the Python chain.
Synthetic signals drive the corners (no template yet, saturation, re-seeding
after a long run of irregular beats, clamped ratios); real MIT-BIH records are
compared whole, with the device's own detector and with reference R peaks.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyecg import data
from tinyecg import features as F
from tinyecg import preprocess as P
from tinyecg.errors import TinyEcgError

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "firmware" / "lib" / "ecgdsp"
HARNESS = Path(__file__).with_name("features_harness.c")
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic"]


def _build(out: Path, sanitize: bool) -> Path:
    flags = CFLAGS + (["-g", "-fsanitize=undefined,address", "-fno-sanitize-recover=all"] if sanitize else [])
    srcs = sorted(str(p) for p in (LIB / "src").glob("*.c"))     # every ecgdsp source
    subprocess.run(["gcc", *flags, f"-I{LIB / 'include'}", *srcs, str(HARNESS), "-o", str(out)],
                   check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    d = tmp_path_factory.mktemp("features")
    return {"fast": _build(d / "f_fast", False), "san": _build(d / "f_san", True)}


# A typical requantizer pair and an extreme one (tiny scale, big zero point: clamping).
RQ_SETS = [
    (P.Requant.from_scale(P.WAVE_UNIT, 0.0211, -7), P.Requant.from_scale(P.FEAT_UNIT, 0.0157, -128)),
    (P.Requant.from_scale(P.WAVE_UNIT, 0.00093, 41), P.Requant.from_scale(P.FEAT_UNIT, 0.1, 3)),
]


def run_c(exe: Path, x, r_j=None, rq=RQ_SETS[0], with_inputs: bool = False):
    """(r (n,), diff (n,128), extra (n,8)) from the C stage behind the C chain;
    with_inputs: also the int8 model inputs (wave (n,128,2), rr (n,16))."""
    x = np.asarray(x, dtype=np.int16)
    payload = struct.pack("<i", x.size) + x.astype("<i2").tobytes()
    if r_j is not None:
        r_j = np.asarray(r_j, dtype=np.int32)
        payload += struct.pack("<i", r_j.size) + r_j.astype("<i4").tobytes()
    wq, fq = rq
    args = [str(v) for v in (wq.mult, wq.shift, wq.zp, fq.mult, fq.shift, fq.zp)]
    out = subprocess.run([str(exe), "ext" if r_j is not None else "det", *args], input=payload,
                         capture_output=True, check=True).stdout
    n = struct.unpack_from("<i", out)[0]
    rec = np.dtype([("r", "<i4"), ("diff", "<i2", P.WIN), ("extra", "<i4", F.N_EXTRA),
                    ("wave", "i1", (P.WIN, F.WAVE_CHANNELS)), ("rr", "i1", F.N_FEAT)])
    b = np.frombuffer(out, dtype=rec, count=n, offset=4)
    assert 4 + b.nbytes == len(out), "trailing bytes from the harness"
    res = (b["r"].astype(np.int64), b["diff"].astype(np.int64), b["extra"].astype(np.int64))
    return res + (b["wave"].copy(), b["rr"].copy()) if with_inputs else res


def python_streaming(x, r_raw=None):
    """The streaming chain, then Features beat by beat (the reference)."""
    beats = P.Chain(r_raw=r_raw).run(np.asarray(x).tolist())
    ft = F.Features()
    diffs, extras = [], []
    for b in beats:
        d, e = ft.push(b.window, b.pre, b.post, b.feats)
        diffs.append(d)
        extras.append(e)
    return (np.array([b.r for b in beats], dtype=np.int64), np.array(diffs, dtype=np.int64).reshape(-1, P.WIN),
            np.array(extras, dtype=np.int64).reshape(-1, F.N_EXTRA))


def assert_equal(c, py):
    for name, a, b in zip(("r", "diff", "extra"), c, py):
        assert a.shape == b.shape, (name, a.shape, b.shape)
        bad = np.argwhere(a != b)
        assert bad.size == 0, f"{name} differs first at {bad[0].tolist()}: C {a[tuple(bad[0])]}, Python {b[tuple(bad[0])]}"


# ------------------------------------------------------------- synthetic cases
def _beats(n_samples, positions, amp=600, width=4.0, offset=1024, noise=8, seed=0, shapes=None):
    rng = np.random.default_rng(seed)
    x = offset + noise * rng.standard_normal(n_samples)
    t = np.arange(-30, 31)
    for i, p in enumerate(positions):
        a, wd = (amp, width) if shapes is None else shapes[i]
        if 30 <= p < n_samples - 31:
            x[p - 30:p + 31] += a * np.exp(-0.5 * (t / wd) ** 2)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _regular(seconds, hr, start=200):
    return np.arange(start, int(seconds * 360) - 60, 360 * 60 / hr).astype(int)


def _bigeminy(seconds):
    # normal, premature wide beat, compensatory pause: nothing is "regular" -> template misses, re-seeding
    pos, shapes, p = [], [], 200
    while p < seconds * 360 - 400:
        pos += [p, p + 170]
        shapes += [(600, 4.0), (-1500, 12.0)]
        p += 600
    return pos, shapes


def _af(seconds, seed=3):
    rng = np.random.default_rng(seed)
    gaps = rng.integers(110, 330, size=int(seconds * 2))
    return (200 + np.cumsum(gaps))[: int(seconds * 1.5)]


SYNTH = {
    "empty": np.zeros(0, dtype=np.int16),
    "regular_72": _beats(360 * 40, _regular(40, 72)),
    "regular_bigeminy_regular": np.r_[
        _beats(360 * 30, _regular(30, 75, 100), seed=7),
        _beats(360 * 80, _bigeminy(80)[0], shapes=_bigeminy(80)[1], seed=1),
        _beats(360 * 30, _regular(30, 75, 100), seed=2)].astype(np.int16),
    "af_irregular": _beats(360 * 60, [p for p in _af(60) if p < 360 * 60 - 60], seed=4),
    # w saturates, then the beats flip polarity: beat minus template leaves int16
    "huge_beats_flip_polarity": np.r_[_beats(360 * 30, _regular(30, 90), amp=-31000, offset=0, seed=5),
                                      _beats(360 * 30, _regular(30, 90, 100), amp=31000, offset=0, seed=6)
                                      ].astype(np.int16),
    "brady_with_pauses": np.r_[_beats(360 * 20, _regular(20, 35)), np.full(360 * 6, 1024),
                               _beats(360 * 20, _regular(20, 140))].astype(np.int16),
}


@pytest.mark.parametrize("name", sorted(SYNTH))
def test_synthetic_equals_reference(harness, name):
    x = SYNTH[name]
    c = run_c(harness["san"], x)
    assert_equal(c, python_streaming(x))
    if name != "empty":
        assert len(c[0]) > 20, "the synthetic signal must produce beats"


def test_synthetic_cases_reach_the_corners(harness):
    """The cases above must exercise what they are for: a saturated diff, a clamped
    ratio, re-seeding (misses) and an irregular rhythm."""
    _, d, e = run_c(harness["fast"], SYNTH["huge_beats_flip_polarity"])
    assert (d == 32767).any() and (d == -32768).any()
    _, _, e = run_c(harness["fast"], SYNTH["brady_with_pauses"])
    assert (e == P.FEAT_MAX).any()
    _, _, e = run_c(harness["fast"], SYNTH["af_irregular"])
    assert np.median(e[10:, 0]) > 40                   # irregularity (Q8) well above sinus rhythm
    ft = F.Features()
    r, bts = SYNTH["regular_bigeminy_regular"], P.Chain().run(SYNTH["regular_bigeminy_regular"].tolist())
    reseeded = 0
    for b in bts:
        n0 = ft.tpl_n
        ft.push(b.window, b.pre, b.post, b.feats)
        reseeded += n0 > 0 and ft.tpl_n == 0
    assert reseeded >= 1


def test_external_r_positions(harness):
    x = SYNTH["regular_72"]
    r_raw = [10, 700, 701, 760, 1500, 1510, 2500, 6000, 6100, 6150, 9000, 9050, 9100, 10500, 12000, 13500]
    r_j = sorted(set(int(P.raw_to_j(r)) for r in r_raw))
    assert_equal(run_c(harness["san"], x, r_j), python_streaming(x, r_raw))


# ---------------------------------------------------------------- MIT-BIH records
def _record(name):
    try:
        return data.load_record(name)
    except TinyEcgError as exc:
        pytest.skip(str(exc))


def test_record_head_equals_streaming_reference(harness):
    x = _record(208).signal[: 360 * 120]
    assert_equal(run_c(harness["fast"], x), python_streaming(x))


@pytest.mark.parametrize("rec", [119, 208, 232])
def test_whole_record_detector_path(harness, rec):
    x = _record(rec).signal
    w = P.frontend_block(x)
    b = P.beats_block(w, P.detect_block(w))
    diff, extra = F.features_block(b)
    c = run_c(harness["fast"], x)
    assert_equal(c, (b["r"], diff.astype(np.int64), extra))
    assert len(c[0]) > 1000


def test_whole_record_with_annotations(harness):
    r = _record(203)
    w = P.frontend_block(r.signal)
    r_j = np.unique(P.raw_to_j(r.r_samples))
    b = P.beats_block(w, r_j)
    diff, extra = F.features_block(b)
    assert_equal(run_c(harness["fast"], r.signal, r_j), (b["r"], diff.astype(np.int64), extra))


def test_int8_inputs_equal_input_quant(harness):
    """ecg_features_quantize == InputQuant.apply(features.inputs(...)) on both requantizer
    sets: the beat and diff channels interleaved, the 16 features in order, rounding and
    clamping included."""
    x = SYNTH["huge_beats_flip_polarity"]
    for wq, fq in RQ_SETS:
        r, diff, extra, wave, rr = run_c(harness["san"], x, rq=(wq, fq), with_inputs=True)
        beats = P.Chain().run(x.tolist())
        ds = {"windows": np.array([b.window for b in beats]), "diff": diff,
              "feats": np.array([b.feats for b in beats]), "extra": extra}
        q = P.InputQuant(wq, fq, 0, 1, F.WAVE_CHANNELS, F.N_FEAT)
        qw, qf = q.apply(*F.inputs(ds))
        assert np.array_equal(wave, qw) and np.array_equal(rr, qf)
        assert (wave == -128).any() and (wave == 127).any()      # clamping exercised
