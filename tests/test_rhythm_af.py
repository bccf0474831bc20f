"""The AF detector of tinyecg.rhythm (docs/rhythm.md §4) on rhythms with a known answer.

Hand-built sequences for each rule (N-N intervals only, pauses left out, the
regularity veto) and the synthetic rhythm models of tinyecg.rr_models: AF is
found, sinus rhythm with ectopic beats, bigeminy, trigeminy, second-degree
block and sick-sinus pauses are not (the issue's bound: no more than one
minute of AF in a record without AF).  Python only; the C is held equal to
it by tests/pipeline/test_rhythm_parity.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinyecg import rhythm as R
from tinyecg import rr_models as M

FS = R.FS


def af_span(beats) -> int:
    """Samples (180 Hz) of R time spent in AF episodes (an ECG quantity, not a run time)."""
    eps = R.af_episodes(R.Rhythm().run(beats), beats[-1][0])
    return sum(b - a for a, b in eps)


def beats_from(pre, cls=None) -> list[tuple[int, int, int]]:
    pre = np.asarray(pre, dtype=int)
    cls = np.zeros(len(pre), dtype=int) if cls is None else np.asarray(cls)
    r = np.cumsum(pre) + 400
    return [(int(a), int(c), int(p)) for a, c, p in zip(r, cls, pre)]


def shuffled_af(n=1200, seed=0):
    """N beats with i.i.d. RR: 150 +- 40 samples (0.83 s, CV 0.27)."""
    return np.clip(np.random.default_rng(seed).normal(150, 40, n), 60, 400).round().astype(int)


def test_irregular_normal_beats_are_af():
    beats = beats_from(shuffled_af())
    ev = [e for e in R.Rhythm().run(beats) if e.kind in (R.AF_ON, R.AF_OFF)]
    assert ev[0].kind == R.AF_ON and ev[0].t < beats[60][0]        # found within the first 60 beats
    # (the veto may interrupt it briefly: random RR repeat within 1/16 by chance)
    assert af_span(beats) > 0.9 * (beats[-1][0] - beats[0][0])


def test_irregular_intervals_touching_ectopic_beats_never_enter():
    pre = shuffled_af()
    cls = np.where(np.arange(len(pre)) % 2 == 1, 1, 0)    # every other beat S: no two N-N intervals in a row
    assert af_span(beats_from(pre, cls)) == 0


def test_bigeminy_labelled_normal_is_vetoed():
    # atrial bigeminy the classifier misses entirely: short-long, every beat "N"
    pre = np.tile([100, 200], 600) + np.random.default_rng(1).integers(-3, 4, 1200)
    assert af_span(beats_from(pre)) == 0
    # without the veto its N-N series would be AF: every successive difference is 2/3 of the mean
    rh = R.Rhythm()
    rh.run(beats_from(pre))
    assert rh.af_sum > R.AF_ON_Q8 * R.AF_N and rh.regular == 1


def test_veto_rarely_fires_by_chance_inside_af():
    # AF's RR repeat within 1/16 at some lag by chance; over 32 beats (>= 14 matches) that almost
    # never adds up to "regular" (round 3, docs/rhythm.md; over 16 beats, >= 8: 1.3 % of the beats here)
    held = total = 0
    for seed in range(5):
        pre = np.clip(np.random.default_rng(seed).normal(150, 30, 2000), 60, 400).round().astype(int)   # CV 0.2
        rh = R.Rhythm()
        for i, (r, c, p) in enumerate(beats_from(pre)):
            rh.push(r, c, p)
            if i >= 40:
                held += rh.regular
                total += 1
    assert held < 0.005 * total, held / total


def test_pauses_leave_the_nn_series():
    # 2:1 dropped beats every 3rd-5th beat (second-degree block): regular apart from the pauses
    rng = np.random.default_rng(3)
    pre = []
    while len(pre) < 1500:
        pre += [150 + int(rng.integers(-4, 5))] * int(rng.integers(2, 5)) + [300]
    assert af_span(beats_from(pre)) == 0


@pytest.mark.parametrize("kind", ["sinus", "pac", "pvc", "block", "sicksinus"])
def test_synthetic_non_af_rhythms_stay_under_one_minute(kind):
    for seed in range(3):
        beats = M.as_beats(*M.rhythm(kind, np.random.default_rng([M.KINDS.index(kind), seed])))
        assert af_span(beats) <= 60 * FS, (kind, seed)       # at most one minute of AF


@pytest.mark.parametrize("kind", ["bigeminy", "trigeminy"])
def test_synthetic_repeating_patterns_mostly_vetoed(kind):
    # half of their premature beats called N: the N-N series is irregular, the veto has to hold it
    frac = []
    for seed in range(4):
        beats = M.as_beats(*M.rhythm(kind, np.random.default_rng([M.KINDS.index(kind), seed])))
        frac.append(af_span(beats) / (beats[-1][0] - beats[0][0]))
    assert np.mean(frac) < 0.3, frac


def test_synthetic_af_is_found():
    frac = []
    for seed in range(4):
        beats = M.as_beats(*M.rhythm("af", np.random.default_rng([M.KINDS.index("af"), seed])))
        frac.append(af_span(beats) / (beats[-1][0] - beats[0][0]))
    assert min(frac) > 0.75 and np.mean(frac) > 0.85, frac


def test_unknown_rhythm_model_is_named():
    with pytest.raises(ValueError, match="unknown rhythm 'flutter'"):
        M.rhythm("flutter", np.random.default_rng(0))
