"""The fixed-point signal chain, specified once (docs/preprocessing.md).

Raw ADC samples (int16, 360 Hz, 200 adu/mV) go in one at a time; beat events
(R position, RR features, a 128-sample waveform window, both as integers) come
out.  Every operation is integer: additions, multiplications, arithmetic right
shifts (floor), comparisons and a handful of integer divisions of non-negative
numbers.  The C port on the device must reproduce it bit for bit.

Two implementations live here, and tests hold them equal:

* :class:`Chain` (with :class:`Frontend`, :class:`~tinyecg.qrs.Detector`, :class:`Assembler`)
  -- the *reference*: streaming, sample by sample, bounded state in ring
  buffers, plain loops.  This is what the C code mirrors, line for line.
* :func:`frontend_block`, :func:`~tinyecg.qrs.detect_block`, :func:`beats_block` -- a
  vectorised path over a whole record, used for training and evaluation
  (a Python loop over 650,000 samples per record is too slow for that).

Index convention: ``j`` is the 180 Hz index of the decimated, filtered stream
``v``; ``w[j]`` (baseline removed) is aligned with ``v[j]``, and both are
centred on raw sample ``2*j - 2``.  A raw R annotation at sample ``r`` sits at
``j = (r + 3) >> 1`` (:func:`raw_to_j`).  Streaming outputs are delayed by
fixed amounts listed in docs/preprocessing.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The QRS detector (section 3) lives in its own module; its names stay
# importable from here (P.Detector, P.detect_block, P.LAT, ...).
from .qrs import (AVG_SHIFT, DER_SHIFT, E_MAX, INT_N, LAT, LEARN, NPK_INIT_SHIFT,  # noqa: F401
                  PEAK_K, R_QUEUE, R_SEARCH_A, R_SEARCH_B, SPK_INIT_SHIFT, THR_SHIFT,
                  TIMEOUT, W_RING, Detector, detect_block, integrated_block)

# ---------------------------------------------------------------- constants
FS_IN = 360            #: raw input rate (Hz)
DECIM = 2              #: decimation factor
FS = FS_IN // DECIM    #: internal rate (Hz) of v, w, detector, windows
LP_TAPS = (1, 2, 2, 2, 2, 2, 1)   #: box6 * box2 at 360 Hz: nulls at 60/120/180 Hz, gain 12
LP_GAIN = 12
BL1_LOG2 = 7           #: first baseline box: 128 samples (0.71 s)
BL2_LOG2 = 6           #: second baseline box: 64 samples (0.36 s)
BL_DELAY = ((1 << BL1_LOG2) - 1) // 2 + ((1 << BL2_LOG2) - 1) // 2 + 1  #: 63.5+31.5 = 95
W_MIN, W_MAX = -32768, 32767

PRE = 48               #: window samples before R
POST = 79              #: window samples after R
WIN = PRE + 1 + POST   #: 128

RR_HIST = 8            #: local RR average: last 8 RR intervals
LONG_MAX_SHIFT = 8     #: long-term RR average: EMA 1/256 after warm-up
RR_CLAMP = 4095        #: RR intervals clamped to 4095 samples before features
FEAT_MAX = 1023        #: features are Q8, clamped to [0, 1023] (0 .. 3.996)
N_FEAT = 8
FEATURE_NAMES = ("pre/local", "post/local", "pre/long", "post/long",
                 "local/long", "pre_s", "post_s", "post/pre")

#: Real value of one unit of the integer outputs (the float model's inputs).
WAVE_UNIT = 1.0 / 2048.0   #: w / 2048: one unit = 1/(12*200) mV, so 1.0 = 0.853 mV
FEAT_UNIT = 1.0 / 256.0    #: Q8

#: External R positions (annotations: training, the reference-R evaluation)
#: are reported to the assembler at R + EXT_LAT, the least latency with a
#: complete window (>= POST); the detector's own R come at R + LAT.
EXT_LAT = 80
assert LAT >= POST and EXT_LAT >= POST and LAT >= PEAK_K + R_SEARCH_A
assert W_RING > LAT + PRE and W_RING > PEAK_K + R_SEARCH_A + 4


#: Raw samples appended at the end of a recording (copies of its last sample)
#: so that the beats of its last seconds are still reported: the chain holds
#: BL_DELAY + LAT samples at 180 Hz before an R is out.  tools/stream.py sends
#: them after the record, as a device does when a recording stops.
TAIL_SAMPLES = 2 * (BL_DELAY + LAT) + 16


def with_tail(x) -> np.ndarray:
    """x followed by TAIL_SAMPLES copies of its last sample (int16)."""
    x = np.asarray(x, dtype=np.int16)
    if x.size == 0:
        return x
    return np.concatenate([x, np.full(TAIL_SAMPLES, x[-1], dtype=np.int16)])


def raw_to_j(r):
    """Raw 360 Hz sample index -> 180 Hz chain index (round half up)."""
    return (np.asarray(r, dtype=np.int64) + 3) >> 1 if not isinstance(r, int) else (r + 3) >> 1


def j_to_raw(j):
    return 2 * np.asarray(j, dtype=np.int64) - 2 if not isinstance(j, int) else 2 * j - 2


def _sat16(v: int) -> int:
    return W_MIN if v < W_MIN else (W_MAX if v > W_MAX else v)


# ------------------------------------------------------- streaming reference
class Frontend:
    """Low-pass + decimate + baseline removal.  push(x) -> w sample or None.

    State: raw ring (7), v ring (128) + sum, b1 ring (64) + sum, v delay line
    (96, shares the v ring since 96 <= 128), phase bit.
    """

    def __init__(self):
        self.started = False

    def _init(self, x0: int):
        self.xr = [x0] * 7          # xr[k] = x[n-k] after the shift
        v0 = LP_GAIN * x0
        self.vr = [v0] * (1 << BL1_LOG2)
        self.vi = 0                 # next write position in vr
        self.s1 = v0 << BL1_LOG2
        self.br = [v0] * (1 << BL2_LOG2)
        self.bi = 0
        self.s2 = v0 << BL2_LOG2
        self.n = 0                  # raw sample count
        self.m = 0                  # v sample count (warm-up: first BL_DELAY outputs dropped)
        self.started = True

    def push(self, x: int):
        if not self.started:
            self._init(x)
        for k in range(6, 0, -1):
            self.xr[k] = self.xr[k - 1]
        self.xr[0] = x
        n = self.n
        self.n += 1
        if (n & 1) == 0:            # v[m] = u[2m+1]: only odd n produce output
            return None
        u = 0
        for k in range(7):
            u += LP_TAPS[k] * self.xr[k]
        v = u
        # box 1 over v (128)
        n1 = 1 << BL1_LOG2
        self.s1 += v - self.vr[self.vi]
        self.vr[self.vi] = v
        self.vi = (self.vi + 1) & (n1 - 1)
        b1 = (self.s1 + (1 << (BL1_LOG2 - 1))) >> BL1_LOG2
        # box 2 over b1 (64)
        n2 = 1 << BL2_LOG2
        self.s2 += b1 - self.br[self.bi]
        self.br[self.bi] = b1
        self.bi = (self.bi + 1) & (n2 - 1)
        b2 = (self.s2 + (1 << (BL2_LOG2 - 1))) >> BL2_LOG2
        # v delayed by BL_DELAY: newest v is at vi-1, so v[m-95] is at vi-1-95
        vd = self.vr[(self.vi - 1 - BL_DELAY) & (n1 - 1)]
        self.m += 1
        if self.m <= BL_DELAY:      # outputs for j < 0: warm-up, dropped
            return None
        return _sat16(vd - b2)


@dataclass
class Beat:
    r: int                     # chain index j of the R peak
    pre: int                   # RR before, samples at FS (clamped)
    post: int                  # RR after
    feats: list[int]           # N_FEAT Q8 features
    window: list[int]          # WIN int16 samples of w, R at index PRE


class Assembler:
    """Beat windows + RR features.  push(w, r_list) -> list of Beat.

    ``r_list`` are R positions reported at this sample (R + LAT or R + EXT_LAT == current j),
    from the detector or from reference annotations.
    """

    def __init__(self):
        self.wr = [0] * W_RING
        self.j = 0
        self.prev_r = None
        self.cur_r = None
        self.pending = [0] * WIN
        self.hist = [0] * RR_HIST
        self.hi = 0
        self.hsum = 0
        self.long = 0                # Q4
        self.count = 0

    def push(self, w: int, r_list=()) -> list[Beat]:
        j = self.j
        self.j += 1
        self.wr[j & (W_RING - 1)] = w
        out = []
        for r in r_list:
            if self.cur_r is not None and self.prev_r is not None:
                out.append(self._finish(r))
            self.prev_r = self.cur_r
            self.cur_r = r
            for k in range(WIN):
                self.pending[k] = self.wr[(r - PRE + k) & (W_RING - 1)]
        return out

    def _finish(self, r_next: int) -> Beat:
        pre = min(self.cur_r - self.prev_r, RR_CLAMP)
        post = min(r_next - self.cur_r, RR_CLAMP)
        if self.count == 0:
            for k in range(RR_HIST):
                self.hist[k] = pre
            self.hsum = pre * RR_HIST
            self.long = pre << 4
        feats = rr_features(pre, post, self.hsum, self.long)
        # update the averages with this beat's pre-RR
        self.hsum += pre - self.hist[self.hi]
        self.hist[self.hi] = pre
        self.hi = (self.hi + 1) & (RR_HIST - 1)
        self.count += 1
        s = min(LONG_MAX_SHIFT, self.count.bit_length())
        self.long += ((pre << 4) - self.long) >> s
        return Beat(r=self.cur_r, pre=pre, post=post, feats=feats, window=list(self.pending))


def rr_features(pre: int, post: int, hsum: int, long_q4: int) -> list[int]:
    """The 8 Q8 RR features (docs/preprocessing.md, "RR features")."""
    f = [
        (pre << 11) // hsum,        # pre / local mean  (hsum = 8 * mean)
        (post << 11) // hsum,       # post / local mean
        (pre << 12) // long_q4,     # pre / long mean   (long_q4 = 16 * mean)
        (post << 12) // long_q4,    # post / long mean
        (hsum << 9) // long_q4,     # local mean / long mean
        (pre << 8) // FS,           # pre in seconds
        (post << 8) // FS,          # post in seconds
        (post << 8) // pre,         # post / pre
    ]
    return [v if v <= FEAT_MAX else FEAT_MAX for v in f]


class Chain:
    """The whole device chain: push(raw) -> list of Beat (usually empty).

    With ``r_raw`` (sorted raw-sample R positions, e.g. annotations) the
    detector is bypassed and those positions are reported at the same fixed
    latency instead: the windowing and features are then exactly what
    training sees.
    """

    def __init__(self, r_raw=None):
        self.fe = Frontend()
        self.det = Detector()
        self.asm = Assembler()
        self.ext = None
        if r_raw is not None:
            js = sorted(set(int(raw_to_j(int(r))) for r in r_raw))
            self.ext = js
            self.ei = 0
        self.j = 0

    def push(self, x: int) -> list[Beat]:
        w = self.fe.push(int(x))
        if w is None:
            return []
        j = self.j
        self.j += 1
        rs = self.det.push(w)
        if self.ext is not None:
            rs = []
            while self.ei < len(self.ext) and self.ext[self.ei] + EXT_LAT <= j:
                if self.ext[self.ei] + EXT_LAT == j:
                    rs.append(self.ext[self.ei])
                self.ei += 1
        return self.asm.push(w, rs)

    def run(self, xs) -> list[Beat]:
        out = []
        for x in xs:
            out += self.push(x)
        return out


# ------------------------------------------------------------ vectorised path
def frontend_block(x: np.ndarray) -> np.ndarray:
    """w[j] for a whole record; equals Frontend.push over x (len = len(x)//2 - 95)."""
    x = np.asarray(x, dtype=np.int64)
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    xp = np.concatenate([np.full(6, x[0]), x])
    u = np.convolve(xp, np.asarray(LP_TAPS, dtype=np.int64), mode="valid")  # u[n], n = 0..N-1
    v = u[1::2]                                                            # v[m] = u[2m+1]
    M = v.size
    v0 = LP_GAIN * int(x[0])
    n1, n2 = 1 << BL1_LOG2, 1 << BL2_LOG2
    vp = np.concatenate([np.full(n1, v0), v])
    c = np.cumsum(vp)
    s1 = c[n1:] - c[:-n1]                                  # sum v[m-127..m]
    b1 = (s1 + (1 << (BL1_LOG2 - 1))) >> BL1_LOG2
    bp = np.concatenate([np.full(n2, v0), b1])
    c2 = np.cumsum(bp)
    s2 = c2[n2:] - c2[:-n2]
    b2 = (s2 + (1 << (BL2_LOG2 - 1))) >> BL2_LOG2
    vfull = np.concatenate([np.full(BL_DELAY, v0), v])     # vfull[m + 95] = v[m]
    w = vfull[:M] - b2                                     # w at step m is for j = m - 95
    w = np.clip(w, W_MIN, W_MAX)
    return w[BL_DELAY:]


def beats_block(w: np.ndarray, r_j) -> dict:
    """Beat windows + features for sorted R positions r_j over a record's w.

    Equals what Assembler emits when fed those R positions at R + EXT_LAT
    (detector positions from detect_block already end LAT >= EXT_LAT before J).
    Returns dict(r, pre, post, feats (n,8) int64, windows (n,128) int16,
    idx: index into r_j of each emitted beat).
    """
    w = np.asarray(w, dtype=np.int64)
    J = w.size
    r_j = np.asarray(r_j, dtype=np.int64)
    r_j = r_j[r_j + EXT_LAT <= J - 1]
    # beat k (1 <= k <= n-2) is emitted when R_{k+1} is reported
    n = r_j.size
    ks = np.arange(1, n - 1) if n >= 3 else np.zeros(0, dtype=np.int64)
    feats = np.zeros((ks.size, N_FEAT), dtype=np.int64)
    pres = np.zeros(ks.size, dtype=np.int64)
    posts = np.zeros(ks.size, dtype=np.int64)
    hist = [0] * RR_HIST
    hi = hsum = lng = count = 0
    for t, k in enumerate(ks):
        pre = min(int(r_j[k] - r_j[k - 1]), RR_CLAMP)
        post = min(int(r_j[k + 1] - r_j[k]), RR_CLAMP)
        if count == 0:
            hist = [pre] * RR_HIST
            hsum = pre * RR_HIST
            lng = pre << 4
        feats[t] = rr_features(pre, post, hsum, lng)
        hsum += pre - hist[hi]
        hist[hi] = pre
        hi = (hi + 1) & (RR_HIST - 1)
        count += 1
        s = min(LONG_MAX_SHIFT, count.bit_length())
        lng += ((pre << 4) - lng) >> s
        pres[t], posts[t] = pre, post
    wp = np.concatenate([np.zeros(PRE, dtype=np.int64), w, np.zeros(POST + 1, dtype=np.int64)])
    idx = r_j[ks][:, None] + np.arange(WIN)[None, :]      # w index r-PRE+k, shifted by PRE pad
    windows = wp[idx].astype(np.int16) if ks.size else np.zeros((0, WIN), dtype=np.int16)
    return dict(r=r_j[ks], pre=pres, post=posts, feats=feats, windows=windows,
                r_all=r_j, idx=ks)


# ------------------------------------------------------------- requantization
@dataclass
class Requant:
    """q = clamp(((x * mult + (1 << (shift - 1))) >> shift) + zp, -128, 127).

    x is the integer chain output (w or a Q8 feature); the 64-bit product and
    arithmetic shift are exactly reproducible in C.
    """
    mult: int
    shift: int
    zp: int
    scale: float = field(default=0.0)     # the tflite input scale it came from (for reference)

    @classmethod
    def from_scale(cls, unit: float, scale: float, zp: int) -> "Requant":
        import math
        m = unit / scale
        if not (m > 0 and math.isfinite(m)):
            raise ValueError(f"bad input scale {scale}")
        e = math.floor(math.log2(m))
        shift = 30 - e
        mult = int(round(m * (1 << shift))) if shift >= 0 else int(round(m / (1 << -shift)))
        if mult >= (1 << 31):
            mult >>= 1
            shift -= 1
        if not (1 <= shift <= 62):
            raise ValueError(f"input scale {scale} gives shift {shift} out of range")
        return cls(mult=mult, shift=shift, zp=int(zp), scale=float(scale))

    def apply(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        # x * mult < 2^16 * 2^31 fits int64
        q = ((x * self.mult + (1 << (self.shift - 1))) >> self.shift) + self.zp
        return np.clip(q, -128, 127).astype(np.int8)

    def apply_one(self, x: int) -> int:
        q = ((x * self.mult + (1 << (self.shift - 1))) >> self.shift) + self.zp
        return -128 if q < -128 else (127 if q > 127 else q)


@dataclass
class InputQuant:
    wave: Requant
    rr: Requant
    wave_index: int      # tflite input index of the waveform tensor
    rr_index: int

    @classmethod
    def from_tflite(cls, model: bytes) -> "InputQuant":
        from tflite_micro import runtime
        it = runtime.Interpreter.from_bytes(bytes(model), arena_size=256 * 1024)
        found = {}
        for k in range(2):
            try:
                det = it.get_input_details(k)
            except Exception:
                break
            shape = tuple(int(s) for s in det["shape"])
            qp = det["quantization_parameters"]
            if det["dtype"] != np.int8 or len(qp["scales"]) != 1:
                raise ValueError("model input is not per-tensor int8")
            kind = "wave" if shape[-2:] == (WIN, 1) or shape[-1] == WIN else (
                "rr" if shape[-1] == N_FEAT else None)
            if kind is None:
                raise ValueError(f"unexpected input shape {shape}")
            found[kind] = (k, float(qp["scales"][0]), int(qp["zero_points"][0]))
        if set(found) != {"wave", "rr"}:
            raise ValueError("model must have a waveform and an RR-feature input")
        (wi, ws, wz), (ri, rs, rz) = found["wave"], found["rr"]
        return cls(Requant.from_scale(WAVE_UNIT, ws, wz), Requant.from_scale(FEAT_UNIT, rs, rz), wi, ri)


def to_float(windows: np.ndarray, feats: np.ndarray):
    """Float model inputs from the chain's integers: (n,128,1), (n,8) float32."""
    return (np.asarray(windows, dtype=np.float32)[..., None] * np.float32(WAVE_UNIT),
            np.asarray(feats, dtype=np.float32) * np.float32(FEAT_UNIT))
