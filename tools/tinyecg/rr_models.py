"""Synthetic beat sequences with a known rhythm, for the AF detector (docs/rhythm.md, "Synthetic rhythms").

Each generator returns RR intervals (seconds) and the class an imperfect
beat classifier would give each beat (0 N, 1 S, 2 V).  The models are the
textbook descriptions of each rhythm, with their parameters drawn per
sequence from the stated ranges:

* ``sinus``: mean RR 0.6-1.1 s, respiratory sinus arrhythmia (2-6 % of the
  RR, period 3-6 s) plus a slow AR(1) drift (coefficient 0.9, 1-2.5 %);
* ``af``: RR intervals independent and identically distributed (Gaussian,
  mean 0.45-0.9 s, coefficient of variation 0.12-0.30, never below 0.25 s,
  the AV node's refractory period); the classifier calls 60 % of the
  intervals shorter than mean - SD "S" and 3 % of the beats "V";
* ``pac`` / ``pvc``: sinus with 5-30 % premature beats (coupling 0.55-0.8 /
  0.5-0.75 of the RR; a PAC resets the sinus node, a PVC has a full
  compensatory pause); the classifier finds 80 % / 90 % of them;
* ``bigeminy`` / ``trigeminy``: every 2nd / 3rd beat an atrial premature
  beat (coupling 0.6-0.8), of which the classifier misses half;
* ``block``: second-degree block, one beat dropped every 3-8 beats (pause
  1.9-2.05 RR);
* ``sicksinus``: sinus bradycardia (1.1-1.5 s) interrupted by runs of 1-20
  atrial ectopic beats (0.55-0.8 s, 85 % called S) and pauses of 2-6 s after
  60 % of the runs;
* ``paroxysmal``: ``pac`` sinus (30-180 s) alternating with ``af``
  paroxysms of 10-120 s, the AF episodes returned beside the beats.

Deterministic for a seed (numpy's default generator).
"""

from __future__ import annotations

import numpy as np

KINDS = ("sinus", "af", "pac", "pvc", "bigeminy", "trigeminy", "block", "sicksinus")
FS = 180   #: beats are returned as (r, cls, pre) in samples at 180 Hz, as the rhythm stage takes them


def _sinus(rng, n: int, mean: float) -> np.ndarray:
    t = np.cumsum(np.full(n, mean))
    rsa = rng.uniform(0.02, 0.06) * np.sin(2 * np.pi * t / rng.uniform(3, 6))
    drift = np.zeros(n)
    e = rng.normal(0, rng.uniform(0.01, 0.025), n) * np.sqrt(1 - 0.81)
    for i in range(1, n):
        drift[i] = 0.9 * drift[i - 1] + e[i]
    return mean * (1 + rsa + drift)


def rhythm(kind: str, rng, minutes: float = 30) -> tuple[np.ndarray, np.ndarray]:
    """RR intervals (s) and classifier labels of `minutes` of rhythm `kind`."""
    if kind not in KINDS:
        raise ValueError(f"unknown rhythm {kind!r} (one of {', '.join(KINDS)})")
    n = int(minutes * 60 / 0.25) + 10
    lab = np.zeros(n, dtype=int)
    rr = _sinus(rng, n, rng.uniform(0.6, 1.1))
    if kind == "af":
        mean, cv = rng.uniform(0.45, 0.9), rng.uniform(0.12, 0.30)
        rr = np.maximum(rng.normal(mean, cv * mean, n), 0.25)
        lab = np.where((rr < mean * (1 - cv)) & (rng.random(n) < 0.6), 1, 0)
        lab = np.where(rng.random(n) < 0.03, 2, lab)
    elif kind in ("pac", "pvc"):
        p = rng.uniform(0.05, 0.3)
        for i in range(2, n - 1):
            if rng.random() < p and lab[i - 1] == 0:
                if kind == "pac":
                    c = rng.uniform(0.55, 0.8)
                    rr[i + 1] *= rng.uniform(1.0, 2 - c)
                    rr[i] *= c
                    lab[i] = 1 if rng.random() < 0.8 else 0
                else:
                    c = rng.uniform(0.5, 0.75)
                    rr[i + 1] = rr[i] * (2 - c)
                    rr[i] *= c
                    lab[i] = 2 if rng.random() < 0.9 else 0
    elif kind in ("bigeminy", "trigeminy"):
        period = 2 if kind == "bigeminy" else 3
        c = rng.uniform(0.6, 0.8)
        for i in range(period - 1, n - 1, period):
            rr[i] *= c
            rr[i + 1] *= (2 - c) * rng.uniform(0.9, 1.0)
            lab[i] = 1 if rng.random() < 0.5 else 0
    elif kind == "block":
        i = 3
        while i < n:
            rr[i] *= rng.uniform(1.9, 2.05)
            i += int(rng.integers(3, 9))
    elif kind == "sicksinus":
        rr = _sinus(rng, n, rng.uniform(1.1, 1.5))
        i = 2
        while i < n - 25:
            i += int(rng.integers(1, 6))
            k = int(rng.integers(1, 20))
            rr[i:i + k] = rng.uniform(0.55, 0.8) * (1 + rng.normal(0, 0.04, k))
            lab[i:i + k] = np.where(rng.random(k) < 0.85, 1, 0)
            i += k
            if rng.random() < 0.6:
                rr[i] = rng.uniform(2.0, 6.0)
            i += 1
    keep = np.cumsum(rr) < minutes * 60
    return rr[keep], lab[keep]


def paroxysmal(rng, minutes: float = 30) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Sinus with PACs and AF paroxysms of 10-120 s: RR (s), labels, AF episodes [(start s, end s)]."""
    rr_s, lab_s = rhythm("pac", rng, minutes)
    rr_a, lab_a = rhythm("af", rng, minutes)
    rr, lab, eps = [], [], []
    t, ia, i_s, af = 0.0, 0, 0, False
    seg_end = rng.uniform(60, 180)
    while t < minutes * 60:
        if t >= seg_end:
            if af:
                eps[-1] = (eps[-1][0], t)
            af = not af
            if af:
                eps.append((t, t))
            seg_end = t + (rng.uniform(10, 120) if af else rng.uniform(30, 180))
        if af:
            x, c = rr_a[ia % len(rr_a)], lab_a[ia % len(lab_a)]
            ia += 1
        else:
            x, c = rr_s[i_s % len(rr_s)], lab_s[i_s % len(lab_s)]
            i_s += 1
        rr.append(x)
        lab.append(c)
        t += x
    if af:
        eps[-1] = (eps[-1][0], t)
    return np.asarray(rr), np.asarray(lab), eps


#: R position of the first beat (samples at 180 Hz): the chain's own positions start later than 0
R0 = 400


def as_beats(rr, lab) -> list[tuple[int, int, int]]:
    """(r, cls, pre) at 180 Hz, as `tinyecg.rhythm.Rhythm.push` takes them (pre clamped to 1 ... 4095)."""
    pre = np.clip(np.round(np.asarray(rr) * FS).astype(int), 1, 4095)
    r = np.cumsum(pre) + R0
    return [(int(a), int(c), int(p)) for a, c, p in zip(r, lab, pre)]
