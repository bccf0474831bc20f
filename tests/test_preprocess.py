"""The fixed-point chain: hand-derived outputs, streaming == vectorised, detector accuracy.

The expected numbers in the synthetic tests are worked out by hand from
docs/preprocessing.md (the derivations are in the comments), not taken from
the code under test.
"""

import numpy as np
import pytest

from tinyecg import data
from tinyecg import preprocess as P
from tinyecg.errors import TinyEcgError


def _stream_w(x):
    fe = P.Frontend()
    out = [fe.push(int(v)) for v in x]
    return np.array([v for v in out if v is not None], dtype=np.int64)


def test_constant_input_gives_zero_and_no_beats():
    x = np.full(360 * 10, 1024, dtype=np.int16)
    w = _stream_w(x)
    assert w.size == x.size // 2 - 95          # 95 warm-up outputs dropped
    assert not w.any()
    assert P.Chain().run(x.tolist()) == []


def test_impulse_response_by_hand():
    # x = 0 everywhere except 1000 at raw n = k (k even).  u[n] = 1000*h[n-k];
    # v[m] = u[2m+1] picks taps h[1], h[3], h[5] = 2: v = 2000 at m = k/2, k/2+1, k/2+2.
    # Box 1 (128) containing all three: S1 = 6000, b1 = (6000+64)>>7 = 47; box 2 over
    # 64 such values: b2 = (64*47+32)>>6 = 47.  So w = 2000-47 = 1953 at those three
    # j, and w = -47 at j = k/2 - 1 (v = 0 there, b2[j+95] already 47).
    k = 1000
    x = np.zeros(4000, dtype=np.int16)
    x[k] = 1000
    w = _stream_w(x)
    c = k // 2
    assert list(w[c:c + 3]) == [1953, 1953, 1953]
    assert w[c - 1] == -47 and w[c + 3] == -47
    # centre of the response is raw sample 2j-2 = k, i.e. j = (k+3)>>1
    assert P.raw_to_j(k) == c + 1
    assert np.array_equal(P.frontend_block(x), w)


def test_saturation_to_int16():
    x = np.zeros(2000, dtype=np.int16)
    x[800:806] = 32767          # v up to 12*32767 -> w clamps at 32767
    w = _stream_w(x)
    assert w.max() == 32767
    assert np.array_equal(P.frontend_block(x), w)


def test_rr_features_by_hand():
    # pre 144 (0.8 s), post 216 (1.2 s), steady local/long means of 144:
    # hsum = 1152, long = 144<<4 = 2304.
    f = P.rr_features(144, 216, 1152, 2304)
    assert f == [256,            # 144*2048/1152
                 384,            # 216*2048/1152
                 256,            # 144*4096/2304
                 384,            # 216*4096/2304
                 256,            # 1152*512/2304
                 204,            # 144*256/180 = 204.8 -> floor
                 307,            # 216*256/180 = 307.2
                 384]            # 216*256/144
    # a premature beat: pre 72 after a 144 rhythm; post 216 (compensatory pause)
    assert P.rr_features(72, 216, 1152, 2304)[0] == 128
    assert P.rr_features(72, 216, 1152, 2304)[7] == 768
    # clamp at 1023
    assert P.rr_features(4095, 4095, 8, 16)[:5] == [1023] * 4 + [256]   # 8*512/16


def _synthetic_ecg(rr_samples_360, n, amp=1000, base=1024):
    """Narrow triangles (QRS-like, 14 raw samples wide) at the given raw positions."""
    x = np.full(n, base, dtype=np.int64)
    tri = np.concatenate([np.arange(0, 7), np.arange(7, -1, -1)]) * amp // 7
    pos = []
    t = 200
    i = 0
    while t + 20 < n:
        x[t - 7:t + 8] += tri
        pos.append(t)
        t += rr_samples_360[i % len(rr_samples_360)]
        i += 1
    return x.astype(np.int16), np.array(pos)


def test_detector_finds_synthetic_beats_with_fixed_latency():
    x, pos = _synthetic_ecg([288, 288, 180, 396], 360 * 30)   # 0.8 s rhythm with a premature beat
    fe, det = P.Frontend(), P.Detector()
    reports = []                # (step j, reported R)
    j = 0
    for v in x:
        w = fe.push(int(v))
        if w is None:
            continue
        for r in det.push(w):
            reports.append((j, r))
        j += 1
    assert all(step - r == P.LAT for step, r in reports)       # fixed latency
    want = P.raw_to_j(pos)
    # beats after the 2 s learning period whose report time fits in the stream
    want = want[(want >= P.LEARN - P.R_SEARCH_B) & (want + P.LAT < j)]
    got = np.array([r for _, r in reports])
    assert got.size == want.size
    assert np.all(np.abs(got - want) <= 1)                     # apex of the triangle


def test_assembler_emits_on_next_r():
    asm = P.Assembler()
    rs = [500, 644, 788, 860, 1076, 1220]     # 144-sample rhythm, premature beat at 860
    out = []
    for j in range(1220 + P.LAT + 1):
        rep = [r for r in rs if r + P.LAT == j]
        w = j % 1000 - 500                     # a ramp we can recognise in the window
        for b in asm.push(w, rep):
            out.append((j, b))
    # first R only starts the chain; the last R (1220) has no successor
    assert [b.r for _, b in out] == [644, 788, 860, 1076]
    assert [j for j, _ in out] == [788 + P.LAT, 860 + P.LAT, 1076 + P.LAT, 1220 + P.LAT]
    b0 = out[0][1]
    assert (b0.pre, b0.post) == (144, 144)
    assert b0.feats == P.rr_features(144, 144, 1152, 2304)
    # window = w[R-48 .. R+79], w[j] = j - 500 for j < 1000
    assert b0.window == [644 - 48 + k - 500 for k in range(128)]
    # third beat (860): pre 72, post 216; history = [144]*8 with two updates of 144,
    # long stays 2304
    b2 = out[2][1]
    assert (b2.pre, b2.post) == (72, 216)
    assert b2.feats == P.rr_features(72, 216, 1152, 2304)
    # fourth beat (1076): pre 216 after history got one 72: hsum = 1152 - 144 + 72 = 1080;
    # count 3 -> s = bitlength(3) = 2: long = 2304 + ((1152 - 2304) >> 2) = 2016
    b3 = out[3][1]
    assert b3.feats == P.rr_features(216, 144, 1080, 2016)


def test_requant_by_hand():
    rq = P.Requant.from_scale(1.0, 2.0, 0)      # M = 0.5 -> shift 31, mult 2^30
    assert (rq.mult, rq.shift) == (1 << 30, 31)
    assert [rq.apply_one(v) for v in (3, -3, 2, -2, 1000, -1000)] == [2, -1, 1, -1, 127, -128]
    rq = P.Requant.from_scale(P.WAVE_UNIT, 0.02, -5)     # x/2048/0.02 = x/40.96
    assert rq.apply_one(4096) == round(4096 / 40.96) - 5 == 95
    assert list(rq.apply(np.array([0, 4096]))) == [-5, 95]


def _mitdb_or_skip():
    try:
        return data.resolve_data_dir()
    except TinyEcgError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("rec", [208, 232])
def test_streaming_equals_vectorised_on_real_records(rec):
    _mitdb_or_skip()
    R = data.load_record(rec)
    x = R.signal[: 360 * 120]
    w = P.frontend_block(x)
    assert np.array_equal(_stream_w(x), w)
    # detector mode
    beats = P.Chain().run(x.tolist())
    b = P.beats_block(w, P.detect_block(w))
    assert len(beats) == len(b["r"]) > 100
    assert np.array_equal([x.r for x in beats], b["r"])
    assert np.array_equal([x.feats for x in beats], b["feats"])
    assert np.array_equal([x.window for x in beats], b["windows"])
    # annotation mode (what training sees)
    ann = R.r_samples[R.r_samples < x.size]
    beats = P.Chain(r_raw=ann).run(x.tolist())
    b = P.beats_block(w, P.raw_to_j(ann))
    assert len(beats) == len(b["r"]) > 100
    assert np.array_equal([x.feats for x in beats], b["feats"])
    assert np.array_equal([x.window for x in beats], b["windows"])


def test_detector_accuracy_on_real_records():
    """Se and +P >= 99.5 % on a clean and a PVC-rich record (150 ms match window)."""
    _mitdb_or_skip()
    for rec in (100, 119):
        R = data.load_record(rec)
        w = P.frontend_block(R.signal)
        det = P.detect_block(w)
        ref = P.raw_to_j(R.r_samples)
        ref = ref[(ref >= P.LEARN) & (ref + P.LAT < w.size)]
        det = det[det >= P.LEARN - P.R_SEARCH_A]
        i = np.searchsorted(det, ref)
        near = np.minimum(np.abs(det[np.clip(i - 1, 0, det.size - 1)] - ref),
                          np.abs(det[np.clip(i, 0, det.size - 1)] - ref))
        tp = int((near <= 27).sum())
        assert tp / ref.size >= 0.995, rec
        assert tp / det.size >= 0.995, rec
