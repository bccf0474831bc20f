"""The fixed-point signal chain, specified once (docs/preprocessing.md).

Raw ADC samples (int16, 360 Hz, 200 adu/mV) go in one at a time; beat events
(R position, RR features, a 128-sample waveform window, both as integers) come
out.  Every operation is integer: additions, multiplications, arithmetic right
shifts (floor), comparisons and a handful of integer divisions of non-negative
numbers.  The C port on the device must reproduce it bit for bit.

Two implementations live here, and tests hold them equal:

* :class:`Chain` (with :class:`Frontend`, :class:`Detector`, :class:`Assembler`)
  -- the *reference*: streaming, sample by sample, bounded state in ring
  buffers, plain loops.  This is what the C code mirrors, line for line.
* :func:`frontend_block`, :func:`detect_block`, :func:`beats_block` -- a
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

DER_SHIFT = 4          #: e = min(|d| >> 4, E_MAX)
E_MAX = 4095
INT_N = 27             #: moving integration window, 150 ms
PEAK_K = 36            #: candidate = strict max over [p-K, p+K] (200 ms each side)
LEARN = 360            #: 2 s learning period (j < LEARN)
SPK_INIT_SHIFT = 1     #: SPK0 = learn_max >> 1
NPK_INIT_SHIFT = 4     #: NPK0 = learn_max >> 4
THR_SHIFT = 3          #: THR = NPK + ((SPK - NPK) >> 3)
TIMEOUT = 360          #: no QRS for 2 s: SPK >>= 1 and NPK >>= 1 (repeats every 2 s)
AVG_SHIFT = 3          #: SPK/NPK += (peak - SPK/NPK) >> 3
R_SEARCH_A = 30        #: R = argmax |w[j]| for j in [p - A, p - B]
R_SEARCH_B = 2

PRE = 48               #: window samples before R
POST = 79              #: window samples after R
WIN = PRE + 1 + POST   #: 128
LAT = 80               #: an R at j is reported when w[j + LAT] is produced
W_RING = 256           #: ring of w samples (power of two)
R_QUEUE = 8            #: max R positions waiting for their report time

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

assert LAT >= POST and LAT >= PEAK_K + R_SEARCH_A
assert W_RING > LAT + PRE and W_RING > PEAK_K + R_SEARCH_A + 4


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


class Detector:
    """Integer Pan-Tompkins-like QRS detector on w.  push(w) -> list of R j's.

    Called once per w sample (j = 0, 1, ...).  Returns the R positions whose
    report time is this sample (R + LAT == j): at most one per call.
    """

    def __init__(self):
        self.wr = [0] * W_RING       # w history, w[j<0] = 0
        self.qr = [0] * INT_N        # squared slopes
        self.qi = 0
        self.isum = 0
        self.ir = [0] * (2 * PEAK_K + 1)   # integrated signal history
        self.j = 0
        self.learn_max = 0
        self.spk = 0
        self.npk = 0
        self.queue: list[int] = []   # R positions waiting for j == R + LAT
        self.last = LEARN            # p of the last QRS (or of the last timeout)
        self.n_qrs = 0
        self.n_noise = 0

    def push(self, w: int) -> list[int]:
        j = self.j
        self.j += 1
        self.wr[j & (W_RING - 1)] = w
        wm = self.wr
        d = (2 * w + wm[(j - 1) & (W_RING - 1)] - wm[(j - 3) & (W_RING - 1)]
             - 2 * wm[(j - 4) & (W_RING - 1)])
        e = (d if d >= 0 else -d) >> DER_SHIFT
        if e > E_MAX:
            e = E_MAX
        q = e * e
        self.isum += q - self.qr[self.qi]
        self.qr[self.qi] = q
        self.qi = self.qi + 1 if self.qi + 1 < INT_N else 0
        i = self.isum
        nk = 2 * PEAK_K + 1
        self.ir[j % nk] = i
        if j < LEARN:
            if i > self.learn_max:
                self.learn_max = i
            if j == LEARN - 1:
                self.spk = self.learn_max >> SPK_INIT_SHIFT
                self.npk = self.learn_max >> NPK_INIT_SHIFT
        # candidate decided now: p = j - K
        p = j - PEAK_K
        if p >= LEARN:
            if p - self.last > TIMEOUT:
                self.spk >>= 1
                self.npk >>= 1
                self.last += TIMEOUT
            c = self.ir[p % nk]
            ok = True
            for k in range(1, PEAK_K + 1):
                if self.ir[(p - k) % nk] >= c or self.ir[(p + k) % nk] > c:
                    ok = False
                    break
            if ok:
                thr = self.npk + ((self.spk - self.npk) >> THR_SHIFT)
                if c > thr:
                    self.spk += (c - self.spk) >> AVG_SHIFT
                    self.last = p
                    self.n_qrs += 1
                    best, bj = -1, p - R_SEARCH_A
                    for jj in range(p - R_SEARCH_A, p - R_SEARCH_B + 1):
                        a = wm[jj & (W_RING - 1)]
                        a = a if a >= 0 else -a
                        if a > best:
                            best, bj = a, jj
                    if len(self.queue) < R_QUEUE:
                        self.queue.append(bj)
                else:
                    self.npk += (c - self.npk) >> AVG_SHIFT
                    self.n_noise += 1
        out = []
        if self.queue and self.queue[0] + LAT == j:
            out.append(self.queue.pop(0))
        return out


@dataclass
class Beat:
    r: int                     # chain index j of the R peak
    pre: int                   # RR before, samples at FS (clamped)
    post: int                  # RR after
    feats: list[int]           # N_FEAT Q8 features
    window: list[int]          # WIN int16 samples of w, R at index PRE


class Assembler:
    """Beat windows + RR features.  push(w, r_list) -> list of Beat.

    ``r_list`` are R positions reported at this sample (R + LAT == current j),
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
            while self.ei < len(self.ext) and self.ext[self.ei] + LAT <= j:
                if self.ext[self.ei] + LAT == j:
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


def integrated_block(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=np.int64)
    wp = np.concatenate([np.zeros(4, dtype=np.int64), w])
    d = 2 * wp[4:] + wp[3:-1] - wp[1:-3] - 2 * wp[:-4]
    e = np.minimum(np.abs(d) >> DER_SHIFT, E_MAX)
    q = e * e
    c = np.cumsum(np.concatenate([np.zeros(INT_N, dtype=np.int64), q]))
    return c[INT_N:] - c[:-INT_N]


def detect_block(w: np.ndarray, stats: dict | None = None) -> np.ndarray:
    """R positions (chain index j) the streaming Detector reports over w."""
    from numpy.lib.stride_tricks import sliding_window_view as swv
    w = np.asarray(w, dtype=np.int64)
    J = w.size
    i = integrated_block(w)
    K = PEAK_K
    if J < LEARN + 2 * K:
        return np.zeros(0, dtype=np.int64)
    ip = np.concatenate([np.zeros(K, dtype=np.int64), i])
    left = swv(ip[:-1], K).max(axis=1)[: J]                # max i[p-K..p-1]
    right = swv(np.concatenate([i[1:], np.zeros(K, dtype=np.int64)]), K).max(axis=1)[:J]
    p_all = np.arange(J)
    cand = (i > left) & (i >= right) & (p_all >= LEARN) & (p_all + K <= J - 1)
    learn_max = int(i[:LEARN].max())
    spk = learn_max >> SPK_INIT_SHIFT
    npk = learn_max >> NPK_INIT_SHIFT
    rs = []
    nq = nn = 0
    last = LEARN
    for p in np.flatnonzero(cand):
        while p - last > TIMEOUT:      # the per-sample timeout of Detector, caught up
            spk >>= 1
            npk >>= 1
            last += TIMEOUT
        c = int(i[p])
        thr = npk + ((spk - npk) >> THR_SHIFT)
        if c > thr:
            spk += (c - spk) >> AVG_SHIFT
            last = int(p)
            nq += 1
            seg = np.abs(w[p - R_SEARCH_A: p - R_SEARCH_B + 1])   # p >= LEARN > A
            rs.append(p - R_SEARCH_A + int(np.argmax(seg)))
        else:
            npk += (c - npk) >> AVG_SHIFT
            nn += 1
    if stats is not None:
        stats.update(n_qrs=nq, n_noise=nn)
    rs = np.asarray(rs, dtype=np.int64)
    return rs[rs + LAT <= J - 1]


def beats_block(w: np.ndarray, r_j) -> dict:
    """Beat windows + features for sorted R positions r_j over a record's w.

    Equals what Assembler emits when fed those R positions at R + LAT.
    Returns dict(r, pre, post, feats (n,8) int64, windows (n,128) int16,
    idx: index into r_j of each emitted beat).
    """
    w = np.asarray(w, dtype=np.int64)
    J = w.size
    r_j = np.asarray(r_j, dtype=np.int64)
    r_j = r_j[r_j + LAT <= J - 1]
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
