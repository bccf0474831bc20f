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

LAT = 80               #: an R at j is reported when w[j + LAT] is produced
W_RING = 256           #: ring of w samples (power of two)
R_QUEUE = 8            #: max R positions waiting for their report time

assert LAT >= PEAK_K + R_SEARCH_A and W_RING > PEAK_K + R_SEARCH_A + 4


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
