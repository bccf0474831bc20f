"""Patient-adaptive beat inputs, specified once (docs/preprocessing.md section 5).

The signal chain (:mod:`tinyecg.preprocess`) sees each beat alone: a window and
RR intervals relative to the last few beats.  This stage adds what *this
patient's* normal looks like, from the beats seen so far:

* a running **template** of the patient's regular, dominant beats (an integer
  running average of beat windows), and the beat minus that template as a
  second waveform channel;
* RR intervals relative to averages over longer horizons (a very long running
  average, and the average RR of the template's beats: the patient's "normal"
  rhythm), and the irregularity of the recent rhythm;
* the beat's QRS shape relative to the template (distance and amplitude).

All of it is integer arithmetic on the chain's outputs, one beat at a time,
with bounded state: C mirror ``firmware/lib/ecgdsp/src/ecg_features.c``
(``tests/pipeline/test_features_parity.py`` holds the two equal bit for bit).
:class:`Features` is the reference *and* the implementation used for training
and evaluation (it runs per beat, not per sample: ~10 us a beat in numpy).

Warm-up: the template starts from the first regular beats and the long
averages from the first beat; EC57 scores beats from minute 5 on, by which
time every average has seen >= 300 beats at any heart rate above 60 bpm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from . import preprocess as P

#: Extra (patient-adaptive) Q8 features appended to the chain's 8 RR features.
EXTRA_NAMES = ("rr_irregularity", "pre/vlong", "post/vlong", "local/vlong",
               "pre/normal", "post/normal", "qrs_distance", "qrs_amplitude")
N_EXTRA = len(EXTRA_NAMES)
N_FEAT = P.N_FEAT + N_EXTRA          #: features the model sees
FEATURE_NAMES = tuple(P.FEATURE_NAMES) + EXTRA_NAMES
WAVE_CHANNELS = 2                    #: beat, beat minus template


@dataclass(frozen=True)
class FeatureSpec:
    """The constants of the stage (the C header has the same names, ECG_FT_*)."""
    tpl_shift: int = 5         #: template: running average, weight 1/2^tpl_shift after warm-up
    tpl_boot: int = 8          #: the first tpl_boot template beats need only a regular RR
    reg_lo: int = 218          #: a beat is "regular" when pre/local and post/local (Q8) are both
    reg_hi: int = 307          #:   in [reg_lo, reg_hi] (0.85 .. 1.2)
    match_max: int = 128       #: after warm-up it must also match: QRS distance (Q8) <= match_max
    reseed: int = 64           #: this many beats in a row without a template update: warm up again
    qrs_a: int = 9             #: QRS region: window indices PRE - qrs_a .. PRE + qrs_b (50 / 72 ms)
    qrs_b: int = 13
    vlong_shift: int = 11      #: very long RR average: weight 1/2048 after warm-up (~30 min)
    normal_shift: int = 5      #: normal RR: average pre-RR of template beats, weight 1/32

    def to_dict(self):
        return asdict(self)


SPEC = FeatureSpec()
#: irregularity and the local mean use the last IRR_N RR intervals before the beat
IRR_N = 8
#: beat counters saturate here (far above every 2^shift they feed, so nothing changes)
COUNT_MAX = 65535


def _bitlen(n: int) -> int:
    return int(n).bit_length()


def _ratio_q8(num: int, den: int, shift: int) -> int:
    """min((num << shift) / den, FEAT_MAX) for num >= 0, den >= 1."""
    v = (num << shift) // den
    return v if v <= P.FEAT_MAX else P.FEAT_MAX


class Features:
    """Per-stream state; push(beat window, pre, post, chain feats) -> (diff[128], extra[8]).

    Called once per emitted beat, in order (Python: any (window, pre, post,
    feats) from :class:`tinyecg.preprocess.Assembler` or ``beats_block``).
    """

    def __init__(self, spec: FeatureSpec = SPEC):
        self.s = spec
        self.tpl = np.zeros(P.WIN, dtype=np.int64)     # template, Q4 (x16)
        self.seeded = False                            # a template exists (from the first regular beat)
        self.tpl_n = 0                                 # template updates since (re)seeding
        self.miss = 0                                  # beats in a row without an update
        self.rr = [0] * (IRR_N + 1)                    # last IRR_N + 1 pre-RR values (ring)
        self.ri = 0
        self.count = 0                                 # beats seen
        self.vlong = 0                                 # Q4
        self.normal = 0                                # Q4
        self.normal_n = 0

    def push(self, window, pre: int, post: int, feats) -> tuple[np.ndarray, list[int]]:
        s = self.s
        win = np.asarray(window, dtype=np.int64)
        pre, post = int(pre), int(post)
        if self.count == 0:
            self.rr = [pre] * (IRR_N + 1)
            self.vlong = pre << 4
            self.normal = pre << 4
        # ---- comparison with the template of the beats before this one
        if not self.seeded:
            t = win.copy()                             # no template yet: the beat is its own
        else:
            t = (self.tpl + 8) >> 4
        diff = np.clip(win - t, P.W_MIN, P.W_MAX)
        a, b = P.PRE - s.qrs_a, P.PRE + s.qrs_b + 1
        sad_d = int(np.abs(diff[a:b]).sum())
        sad_t = int(np.abs(t[a:b]).sum())
        pp_w = int(win[a:b].max() - win[a:b].min())
        pp_t = int(t[a:b].max() - t[a:b].min())
        dist = _ratio_q8(sad_d, max(sad_t, 1), 8)
        amp = _ratio_q8(pp_w, max(pp_t, 1), 8)
        # ---- rhythm context (the RR values before this beat's own pre)
        irr = 0
        rsum = 0
        n = IRR_N + 1
        for k in range(IRR_N):
            r0 = self.rr[(self.ri + k) % n]
            r1 = self.rr[(self.ri + k + 1) % n]
            irr += abs(r1 - r0)
            rsum += r1
        hsum = rsum                                    # sum of the last IRR_N RR
        extra = [
            _ratio_q8(irr, max(hsum, 1), 8),           # mean |dRR| / mean RR
            _ratio_q8(pre, self.vlong, 12),
            _ratio_q8(post, self.vlong, 12),
            _ratio_q8(hsum, self.vlong, 9),            # (hsum / 8) / (vlong / 16)
            _ratio_q8(pre, self.normal, 12),
            _ratio_q8(post, self.normal, 12),
            dist,
            amp,
        ]
        # ---- updates, after the features (as the chain's RR averages)
        f0, f1 = int(feats[0]), int(feats[1])
        regular = s.reg_lo <= f0 <= s.reg_hi and s.reg_lo <= f1 <= s.reg_hi
        match = self.tpl_n < s.tpl_boot or dist <= s.match_max
        if regular and match:
            if self.tpl_n == 0:                        # seeding (or re-seeding): the beat itself
                self.tpl = win << 4
                self.seeded = True
            else:
                sh = min(s.tpl_shift, _bitlen(self.tpl_n))
                self.tpl += ((win << 4) - self.tpl) >> sh
            self.tpl_n = min(self.tpl_n + 1, COUNT_MAX)
            self.miss = 0
            self.normal_n = min(self.normal_n + 1, COUNT_MAX)
            sh = min(s.normal_shift, _bitlen(self.normal_n))
            self.normal += ((pre << 4) - self.normal) >> sh
        else:
            self.miss += 1
            if self.miss >= s.reseed:                  # lost the patient's beat: warm up again,
                self.tpl_n = 0                         # comparing with the old template meanwhile
                self.miss = 0
        self.rr[self.ri] = pre
        self.ri = (self.ri + 1) % n
        self.count = min(self.count + 1, COUNT_MAX)
        sh = min(s.vlong_shift, _bitlen(self.count))
        self.vlong += ((pre << 4) - self.vlong) >> sh
        return diff, extra


def features_block(b: dict, spec: FeatureSpec = SPEC) -> tuple[np.ndarray, np.ndarray]:
    """Run :class:`Features` over a record's beats (``beats_block`` output), in order.

    Returns (diff (n,128) int16, extra (n, N_EXTRA) int64)."""
    f = Features(spec)
    n = len(b["r"])
    diff = np.zeros((n, P.WIN), dtype=np.int16)
    extra = np.zeros((n, N_EXTRA), dtype=np.int64)
    for i in range(n):
        d, e = f.push(b["windows"][i], b["pre"][i], b["post"][i], b["feats"][i])
        diff[i] = d
        extra[i] = e
    return diff, extra


# ------------------------------------------------------------ model inputs
def inputs(ds: dict, mask=None) -> tuple[np.ndarray, np.ndarray]:
    """Integer model inputs of beats: wave (n, 128, 2) = [beat, beat minus template]
    and feats (n, 16) = the chain's 8 RR features then the 8 extra ones.

    `ds` holds ``windows``, ``diff``, ``feats``, ``extra`` (``train.record_beats``);
    `mask` selects beats. A model with one waveform channel and 8 features
    (the first-generation classifier) takes the first channel and features.
    """
    pick = (lambda a: a) if mask is None else (lambda a: a[mask])
    wave = np.stack([pick(ds["windows"]), pick(ds["diff"])], axis=-1).astype(np.int16)
    feats = np.concatenate([pick(ds["feats"]), pick(ds["extra"])], axis=1).astype(np.int64)
    return wave, feats


def to_float(wave, feats, channels: int = WAVE_CHANNELS, n_feat: int = N_FEAT):
    """Float model inputs from integer ones (the first `channels` and `n_feat`):
    (n, 128, channels) in units of WAVE_UNIT and (n, n_feat) in units of FEAT_UNIT."""
    return (np.asarray(wave)[..., :channels].astype(np.float32) * np.float32(P.WAVE_UNIT),
            np.asarray(feats)[:, :n_feat].astype(np.float32) * np.float32(P.FEAT_UNIT))
