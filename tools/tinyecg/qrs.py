"""The integer QRS detector (docs/preprocessing.md, section 3).

Pan-Tompkins-like, fixed latency: R positions on the baseline-removed 180 Hz
signal ``w`` of :mod:`tinyecg.preprocess` are reported exactly ``LAT`` samples
after their own position.  Like the rest of the chain it exists twice, held
equal by tests: the streaming reference :class:`Detector` (what the C port
``firmware/lib/ecgdsp/src/ecg_qrs.c`` mirrors line for line) and the
vectorised :func:`detect_block` over a whole record.
"""

from __future__ import annotations

import numpy as np

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
SLOPE_N = 28           #: a candidate's slope = max e over [p - 27, p] (its integration window)
TWAVE = 65             #: a candidate < 361 ms after a QRS whose slope is < half that QRS's is a T wave
TWAVE_SHIFT = 1
RR_AVG_N = 8           #: search-back: mean of the last 8 RR intervals (power of two)
RR_MAX = 4095          #: RR intervals and gaps clamped before the search-back arithmetic
SB_RR_Q5 = 53          #: search back when a QRS comes > 53/32 = 1.66 x the mean RR after the last one
SB_THR_SHIFT = 1       #: ... and accept the largest noise peak in between if > THR >> 1
SB_SPK_SHIFT = 2       #: a searched-back peak moves SPK by 1/4 (Pan & Tompkins)
SB_LOOK = 200          #: ... if it lies at most 200 samples (1.11 s) before the new QRS

#: An R at j is reported when w[j + LAT] is produced: the latest decision
#: (a searched-back peak SB_LOOK before a QRS decided PEAK_K after it, its R up
#: to R_SEARCH_A before the peak) still meets its report time.
LAT = SB_LOOK + PEAK_K + R_SEARCH_A    # 266 samples = 1.48 s
W_RING = 512           #: ring of w samples (power of two; > LAT + the beat window's 48)
R_QUEUE = 16           #: max R positions waiting for their report time (> LAT / 37)

assert W_RING > LAT + SLOPE_N + 4 and R_QUEUE * (PEAK_K + 1) > LAT


def _slope(wr, p: int) -> int:
    """max e[k], k = p - SLOPE_N + 1 .. p, recomputed from the w ring (only for QRS-level candidates)."""
    m = W_RING - 1
    best = 0
    for k in range(p - SLOPE_N + 1, p + 1):
        d = 2 * wr[k & m] + wr[(k - 1) & m] - wr[(k - 3) & m] - 2 * wr[(k - 4) & m]
        e = (d if d >= 0 else -d) >> DER_SHIFT
        if e > best:
            best = e
    return best if best <= E_MAX else E_MAX


def _r_search(wr, p: int) -> int:
    """R = argmax |w[k]| over k = p - A .. p - B (first maximum wins)."""
    best, bj = -1, p - R_SEARCH_A
    for jj in range(p - R_SEARCH_A, p - R_SEARCH_B + 1):
        a = wr[jj & (W_RING - 1)]
        a = a if a >= 0 else -a
        if a > best:
            best, bj = a, jj
    return bj


class _Decisions:
    """Thresholds, T-wave rule and search-back: what happens to each peak candidate.

    Shared by the streaming :class:`Detector` and :func:`detect_block` (which
    differ only in how candidates are found); the C port has the same
    statements in ecg_detector_push.
    """

    def __init__(self, learn_max: int):
        self.spk = learn_max >> SPK_INIT_SHIFT
        self.npk = learn_max >> NPK_INIT_SHIFT
        self.last = LEARN            # p of the last QRS (or of the last timeout)
        self.last_qrs = -1           # p of the last QRS, -1 before the first
        self.last_slope = 0
        self.rr = [0] * RR_AVG_N
        self.rr_i = 0
        self.rr_n = 0
        self.rr_sum = 0
        self.nb_c = -1               # largest noise peak since the last QRS (-1: none)
        self.nb_p = 0
        self.n_qrs = 0
        self.n_noise = 0

    def timeout(self, p: int):
        if p - self.last > TIMEOUT:
            self.spk >>= 1
            self.npk >>= 1
            self.last += TIMEOUT

    def _noise(self, c: int):
        self.npk += (c - self.npk) >> AVG_SHIFT
        self.n_noise += 1

    def _qrs(self, p: int, spk_shift: int, c: int, out: list, wr):
        self.spk += (c - self.spk) >> spk_shift
        self.n_qrs += 1
        if self.last_qrs >= 0:
            rr = min(p - self.last_qrs, RR_MAX)
            self.rr_sum += rr - self.rr[self.rr_i]
            self.rr[self.rr_i] = rr
            self.rr_i = (self.rr_i + 1) & (RR_AVG_N - 1)
            if self.rr_n < RR_AVG_N:
                self.rr_n += 1
        self.last_qrs = p
        self.nb_c = -1
        out.append(_r_search(wr, p))

    def candidate(self, p: int, c: int, wr, out: list):
        """Peak candidate p (value c), decided at j = p + PEAK_K; R positions go to `out`."""
        thr = self.npk + ((self.spk - self.npk) >> THR_SHIFT)
        if c <= thr:
            self._noise(c)
            if c > self.nb_c:
                self.nb_c, self.nb_p = c, p
            return
        slope = _slope(wr, p)
        if self.last_qrs >= 0 and p - self.last_qrs < TWAVE and slope < (self.last_slope >> TWAVE_SHIFT):
            self._noise(c)               # a T wave: steep enough for THR, not for a QRS
            return
        if self.rr_n > 0 and self.nb_c > (thr >> SB_THR_SHIFT) and p - self.nb_p <= SB_LOOK:
            gap = min(p - self.last_qrs, RR_MAX)
            if gap * 32 * self.rr_n > SB_RR_Q5 * self.rr_sum:
                self._qrs(self.nb_p, SB_SPK_SHIFT, self.nb_c, out, wr)   # a beat missed before this one
        self.last = p
        self.last_slope = slope
        self._qrs(p, AVG_SHIFT, c, out, wr)


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
        self.dec = None              # _Decisions, from the end of learning on
        self.queue: list[int] = []   # R positions waiting for j == R + LAT

    @property
    def n_qrs(self) -> int:
        return self.dec.n_qrs if self.dec else 0

    @property
    def n_noise(self) -> int:
        return self.dec.n_noise if self.dec else 0

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
                self.dec = _Decisions(self.learn_max)
        # candidate decided now: p = j - K
        p = j - PEAK_K
        if p >= LEARN:
            self.dec.timeout(p)
            c = self.ir[p % nk]
            ok = True
            for k in range(1, PEAK_K + 1):
                if self.ir[(p - k) % nk] >= c or self.ir[(p + k) % nk] > c:
                    ok = False
                    break
            if ok:
                found: list[int] = []
                self.dec.candidate(p, c, wm, found)
                for r in found:
                    if len(self.queue) < R_QUEUE:
                        self.queue.append(r)
        out = []
        if self.queue and self.queue[0] + LAT == j:
            out.append(self.queue.pop(0))
        return out


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
    dec = _Decisions(int(i[:LEARN].max()))
    ring = [0] * W_RING
    rs: list[int] = []
    for p in np.flatnonzero(cand).tolist():
        while p - dec.last > TIMEOUT:      # the per-sample timeout of Detector, caught up
            dec.timeout(p)
        # the ring as the streaming detector holds it at step p + K (p >= LEARN > SLOPE_N + 4)
        for k in range(p - SLOPE_N - 3, p + 1):
            ring[k & (W_RING - 1)] = int(w[k])
        dec.candidate(p, int(i[p]), ring, rs)
    if stats is not None:
        stats.update(n_qrs=dec.n_qrs, n_noise=dec.n_noise)
    rs = np.asarray(rs, dtype=np.int64)
    return rs[rs + LAT <= J - 1]
