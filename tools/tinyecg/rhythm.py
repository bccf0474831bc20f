"""Rhythm from the beat stream, in integers (docs/rhythm.md).

Fed one classified beat at a time -- its R position ``r`` (chain index j at
180 Hz), its class (0 N, 1 S, 2 V, 3 F, anything else: no class) and its
pre-RR interval ``pre`` (samples at 180 Hz, as the assembler clamps it) --
:class:`Rhythm` emits rhythm events:

* ``HR``: the averaged heart rate every ``HR_PERIOD`` (10 s), from the last
  ``HR_N`` RR intervals;
* ``RUN``: a run of >= 2 consecutive V beats (ventricular couplet / run) or
  S beats (supraventricular), with its first and last R and its length,
  when it ends;
* ``AF_ON`` / ``AF_OFF``: atrial fibrillation episode onset and offset, from
  the irregularity of the RR intervals between normal beats (ectopic beats and
  pauses left out), vetoed while the rhythm repeats itself (bigeminy, group
  beating);
* ``HRV``: time-domain HRV of each 5-minute window of NN intervals (mean NN,
  SDNN, RMSSD, pNN50).

It also decides the class the device *reports* for the next beat
(:meth:`Rhythm.reported_class`): during an AF episode an S call is reported
N. In AF there is no sinus rhythm for an atrial beat to be premature to --
the short RR intervals are the fibrillation itself -- so a beat classifier's
S calls there are false by definition (the annotators of MIT-BIH, like
Holter readers, label those beats N). The caller asks before pushing the
beat, so the decision uses only the beats before it (the device and
:func:`report_classes` do the same).

The C port (firmware/lib/ecgdsp/src/ecg_rhythm.c) mirrors it statement for
statement; every operation is an integer addition, multiplication, shift,
comparison, division of non-negative numbers or an integer square root.
"""

from __future__ import annotations

from dataclasses import dataclass

FS = 180                 #: beat positions and RR intervals are in samples at 180 Hz

# event kinds (the `kind` byte of the RHYTHM event, docs/protocol.md)
HR, RUN, AF_ON, AF_OFF, HRV = 1, 2, 3, 4, 5
KIND_NAMES = {HR: "hr", RUN: "run", AF_ON: "af_on", AF_OFF: "af_off", HRV: "hrv"}
CLS_N, CLS_S, CLS_V = 0, 1, 2

HR_N = 8                 #: heart rate = 60 / mean of the last 8 RR intervals (power of two)
HR_PERIOD = 10 * FS      #: one HR measurement every 10 s of R time
HR_X10 = 10 * 60 * FS    #: bpm x 10 = HR_X10 * n / sum(RR)

AF_D_MAX = 256           #: successive RR difference |dRR| / mean(RR) in Q8, clamped to 1.0
AF_MED_N = 8             #: median filter over the last 8 differences (power of two) ...
AF_MED_K = 4             #: ... keeping the 5th smallest (an isolated outlier pair cannot move it)
AF_N = 32                #: irregularity: mean of the last 32 medians (power of two)
AF_ON_Q8 = 32            #: AF starts when the irregularity exceeds 32/256 = 0.125 ...
AF_OFF_Q8 = 24           #: ... and ends when it falls below 24/256 = 0.094
AF_PAUSE_X16 = 24        #: an RR longer than 24/16 = 1.5 x the mean of the last 8 RR is a pause, not an N-N interval
REG_LAGS = 3             #: regularity veto: RR(n) against RR(n-1), RR(n-2), RR(n-3) ...
REG_W = 32               #: ... over the last 32 beats (bit history, one 32-bit word per lag) ...
REG_TOL_Q8 = 16          #: ... a match when |RR(n) - RR(n-k)| / mean <= 16/256 = 1/16 ...
REG_MIN = 14             #: ... regular when some lag matches in at least 14 of them (round 3, docs/rhythm.md)

HRV_WINDOW = 300 * FS    #: HRV windows: R positions [k * 54000, (k + 1) * 54000)
NN50 = 9                 #: |dNN| > 9 samples = 50 ms
HRV_MIN_NN = 2


def isqrt(v: int) -> int:
    """floor(sqrt(v)) for 0 <= v < 2^64, bit by bit as the C port does it."""
    res = 0
    bit = 1 << 62
    while bit > v:
        bit >>= 2
    while bit:
        if v >= res + bit:
            v -= res + bit
            res = (res >> 1) + bit
        else:
            res >>= 1
        bit >>= 2
    return res


def af_episodes(events, end: int) -> list[tuple[int, int]]:
    """[(onset, offset)] of the AF episodes in a stream of events (anything with ``kind`` and ``t``);
    an episode still open at the end of the stream ends at `end` (at least one sample long)."""
    eps, on = [], None
    for ev in events:
        if ev.kind == AF_ON:
            on = ev.t
        elif ev.kind == AF_OFF and on is not None:
            eps.append((on, ev.t))
            on = None
    if on is not None:
        eps.append((on, max(end, on + 1)))
    return eps


@dataclass(frozen=True)
class Event:
    kind: int
    t: int                   #: chain index j the event refers to (onset, offset, measurement, run start)
    a: int = 0               #: HR: bpm x 10; RUN: class (1 S, 2 V); HRV: window index
    b: int = 0               #: HR: RR intervals averaged; RUN: last R; HRV: NN intervals
    c: int = 0               #: RUN: length (beats); HRV: mean NN (Q8 samples)
    d: int = 0               #: HRV: SDNN (Q8 samples)
    e: int = 0               #: HRV: RMSSD (Q8 samples)
    f: int = 0               #: HRV: pNN50 (per mille)

    def as_tuple(self) -> tuple:
        return (self.kind, self.t, self.a, self.b, self.c, self.d, self.e, self.f)


class Rhythm:
    """The streaming rhythm stage.  push(r, cls, pre) -> list of Event."""

    def __init__(self):
        # heart rate
        self.hr_rr = [0] * HR_N
        self.hr_i = 0
        self.hr_n = 0
        self.hr_sum = 0
        self.hr_next = HR_PERIOD
        # runs
        self.run_cls = -1
        self.run_len = 0
        self.run_start = 0
        self.run_end = 0
        # atrial fibrillation
        self.prev_rr = 0
        self.prev_cls = -1
        self.af_prev_nn = 0          # the previous RR was an N-N interval (not a pause)
        self.reg_rr = [0] * REG_LAGS     # the last RR intervals of every beat, newest first
        self.reg_n = 0
        self.reg_bits = [0] * REG_LAGS   # per lag: match history, bit 0 = newest
        self.reg_cnt = [0] * REG_LAGS    # per lag: matches among the last REG_W beats
        self.regular = 0
        self.med = [0] * AF_MED_N    # the last successive differences
        self.med_i = 0
        self.med_n = 0
        self.af_m = [0] * AF_N       # the last medians ...
        self.af_t = [0] * AF_N       # ... and the R position of each
        self.af_i = 0
        self.af_n = 0
        self.af_sum = 0
        self.af = 0
        # HRV
        self.hrv_win = -1
        self.nn_n = 0
        self.nn_s1 = 0
        self.nn_s2 = 0
        self.prev_nn = 0
        self.dd_n = 0
        self.dd_s2 = 0
        self.nn50 = 0
        self.count = 0

    # ------------------------------------------------------------------ parts
    def _heart_rate(self, r: int, pre: int, out: list):
        self.hr_sum += pre - self.hr_rr[self.hr_i]
        self.hr_rr[self.hr_i] = pre
        self.hr_i = (self.hr_i + 1) & (HR_N - 1)
        if self.hr_n < HR_N:
            self.hr_n += 1
        if r >= self.hr_next:
            bpm10 = (HR_X10 * self.hr_n + (self.hr_sum >> 1)) // self.hr_sum
            out.append(Event(HR, r, bpm10, self.hr_n))
            while self.hr_next <= r:
                self.hr_next += HR_PERIOD

    def _runs(self, r: int, cls: int, out: list):
        if cls == self.run_cls:
            self.run_len += 1
            self.run_end = r
            return
        if self.run_len >= 2:
            out.append(Event(RUN, self.run_start, self.run_cls, self.run_end, self.run_len))
        if cls == CLS_S or cls == CLS_V:
            self.run_cls, self.run_len, self.run_start, self.run_end = cls, 1, r, r
        else:
            self.run_cls, self.run_len = -1, 0

    def _regularity(self, pre: int):
        # every beat: does this RR repeat one of the last three (a rhythm with a period of 1-3 beats)?
        self.regular = 0
        for k in range(REG_LAGS):
            bit = 0
            if k < self.reg_n:
                q = self.reg_rr[k]
                diff = pre - q
                diff = diff if diff >= 0 else -diff
                if (diff << 9) // (pre + q) <= REG_TOL_Q8:
                    bit = 1
            self.reg_cnt[k] += bit - ((self.reg_bits[k] >> (REG_W - 1)) & 1)
            self.reg_bits[k] = ((self.reg_bits[k] << 1) | bit) & ((1 << REG_W) - 1)
            if self.reg_cnt[k] >= REG_MIN:
                self.regular = 1
        for k in range(REG_LAGS - 1, 0, -1):
            self.reg_rr[k] = self.reg_rr[k - 1]
        self.reg_rr[0] = pre
        if self.reg_n < REG_LAGS:
            self.reg_n += 1

    def _atrial_fibrillation(self, r: int, cls: int, pre: int, out: list):
        self._regularity(pre)
        # an N-N interval: this beat and the previous are N (ectopic beats and the classifier's
        # S calls never enter) and it is not a pause (block, arrest, a missed beat)
        # (pre > 1.5 x hr_sum / 8, the mean of the last 8 RR this one included)
        nn = self.count > 0 and cls == CLS_N and self.prev_cls == CLS_N and (pre << 7) <= AF_PAUSE_X16 * self.hr_sum
        if nn and self.af_prev_nn:
            diff = pre - self.prev_rr
            diff = diff if diff >= 0 else -diff
            d = (diff << 9) // (pre + self.prev_rr)      # |dRR| / mean RR, Q8
            if d > AF_D_MAX:
                d = AF_D_MAX
            self.med[self.med_i] = d
            self.med_i = (self.med_i + 1) & (AF_MED_N - 1)
            if self.med_n < AF_MED_N:
                self.med_n += 1
            if self.med_n == AF_MED_N:
                self._af_median(r, out)
        self.af_prev_nn = 1 if nn else 0
        self.prev_rr = pre
        self.prev_cls = cls

    def _af_median(self, r: int, out: list):
        srt = list(self.med)                 # insertion sort of 8 values
        for k in range(1, AF_MED_N):
            v = srt[k]
            i = k - 1
            while i >= 0 and srt[i] > v:
                srt[i + 1] = srt[i]
                i -= 1
            srt[i + 1] = v
        m = srt[AF_MED_K]
        self.af_sum += m - self.af_m[self.af_i]
        self.af_m[self.af_i] = m
        self.af_t[self.af_i] = r
        self.af_i = (self.af_i + 1) & (AF_N - 1)
        if self.af_n < AF_N:
            self.af_n += 1
        if self.af_n == AF_N:
            # the episode edge is placed mid-window: the oldest half was before the change
            t_mid = self.af_t[(self.af_i + AF_N // 2) & (AF_N - 1)]
            # a repeating pattern (bigeminy, trigeminy, group beating) is regularly irregular: not AF
            if not self.af and self.af_sum > AF_ON_Q8 * AF_N and not self.regular:
                self.af = 1
                out.append(Event(AF_ON, t_mid))
            elif self.af and (self.af_sum < AF_OFF_Q8 * AF_N or self.regular):
                self.af = 0
                out.append(Event(AF_OFF, t_mid))

    def _hrv_flush(self, out: list):
        if self.nn_n >= HRV_MIN_NN:
            n = self.nn_n
            mean_q8 = (self.nn_s1 << 8) // n
            sdnn_q8 = isqrt(((n * self.nn_s2 - self.nn_s1 * self.nn_s1) << 16) // (n * (n - 1)))
            rmssd_q8 = isqrt((self.dd_s2 << 16) // self.dd_n) if self.dd_n else 0
            pnn50 = (self.nn50 * 1000) // self.dd_n if self.dd_n else 0
            out.append(Event(HRV, self.hrv_win * HRV_WINDOW, self.hrv_win, n, mean_q8, sdnn_q8, rmssd_q8, pnn50))
        self.nn_n = self.nn_s1 = self.nn_s2 = 0
        self.dd_n = self.dd_s2 = self.nn50 = 0

    def _hrv(self, r: int, cls: int, pre: int, out: list):
        win = r // HRV_WINDOW
        if win != self.hrv_win:
            if self.hrv_win >= 0:
                self._hrv_flush(out)
            self.hrv_win = win
        if self.count > 0 and cls == CLS_N and self.prev_cls == CLS_N:
            if self.nn_n > 0:
                dd = pre - self.prev_nn
                self.dd_s2 += dd * dd
                self.dd_n += 1
                if dd > NN50 or dd < -NN50:
                    self.nn50 += 1
            self.nn_n += 1
            self.nn_s1 += pre
            self.nn_s2 += pre * pre
            self.prev_nn = pre

    # ------------------------------------------------------------ reporting
    def reported_class(self, cls: int) -> int:
        """The class to report for the next beat, which the classifier called `cls`:
        S becomes N while an AF episode is on (module docstring); anything else unchanged."""
        return CLS_N if self.af and cls == CLS_S else cls

    # ------------------------------------------------------------------- push
    def push(self, r: int, cls: int, pre: int) -> list[Event]:
        """One classified beat: R position (j), class, pre-RR (samples, >= 1)."""
        out: list[Event] = []
        self._heart_rate(r, pre, out)
        self._runs(r, cls, out)
        self._hrv(r, cls, pre, out)          # uses prev_cls before the AF stage updates it
        self._atrial_fibrillation(r, cls, pre, out)
        self.count += 1
        return out

    def run(self, beats) -> list[Event]:
        out: list[Event] = []
        for r, cls, pre in beats:
            out += self.push(int(r), int(cls), int(pre))
        return out

    def run_reported(self, beats) -> tuple[list[Event], list[int]]:
        """As the device does it: each beat's class through :meth:`reported_class`, then the
        beat pushed with that class. Returns (events, reported classes)."""
        out: list[Event] = []
        classes: list[int] = []
        for r, cls, pre in beats:
            c = self.reported_class(int(cls))
            classes.append(c)
            out += self.push(int(r), c, int(pre))
        return out, classes


def report_classes(r, cls, pre, rec=None):
    """The reported classes (:meth:`Rhythm.run_reported`) of a beat sequence (numpy arrays
    r (j), cls, pre). With `rec` (a record id per beat, records contiguous) a fresh
    :class:`Rhythm` starts at every record."""
    import numpy as np
    cls = np.asarray(cls)
    out = cls.copy()
    rec = np.zeros(len(cls), dtype=np.int64) if rec is None else np.asarray(rec)
    starts = np.flatnonzero(np.r_[True, rec[1:] != rec[:-1]]) if len(cls) else []
    for a, b in zip(starts, [*starts[1:], len(cls)]):
        out[a:b] = Rhythm().run_reported(zip(r[a:b], cls[a:b], pre[a:b]))[1]
    return out
