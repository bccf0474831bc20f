#!/usr/bin/env python3
"""The AF detector on synthetic rhythms with a known answer (tinyecg.rr_models; docs/rhythm.md).

For every rhythm model, SEEDS sequences of 30 minutes through
``tinyecg.rhythm.Rhythm`` (the device's integers): the fraction of time
(from minute 5, as EC57 scores) spent in an AF episode, mean and worst over
the seeds; and the paroxysmal model scored like a record
(``tinyecg.ec57.episode_statistics``: episode and duration Se/+P).

    .venv/bin/python scripts/benchmarks/af_synthetic.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from tinyecg import ec57  # noqa: E402
from tinyecg import rhythm as R  # noqa: E402
from tinyecg import rr_models as M  # noqa: E402

START_S = 300


def af_fraction(kind: str, seed: int) -> float:
    beats = M.as_beats(*M.rhythm(kind, np.random.default_rng([M.KINDS.index(kind), seed])))
    start = M.R0 + START_S * M.FS
    t = sum(max(0, b - max(a, start)) for a, b in R.af_episodes(R.Rhythm().run(beats), beats[-1][0]))
    return t / max(1, beats[-1][0] - start)


def paroxysmal(seeds) -> dict:
    tot: dict = {}
    for s in seeds:
        rr, lab, ref = M.paroxysmal(np.random.default_rng([99, s]))
        beats = M.as_beats(rr, lab)
        ref_t = [(M.R0 + int(a * M.FS), M.R0 + int(b * M.FS)) for a, b in ref]
        st = ec57.episode_statistics(ref_t, R.af_episodes(R.Rhythm().run(beats), beats[-1][0]), M.FS, START_S)
        for k in ("reference_episodes", "reference_episodes_found", "detected_episodes", "detected_episodes_true",
                  "reference_seconds", "detected_seconds", "overlap_seconds"):
            tot[k] = tot.get(k, 0) + st[k]
    pct = lambda a, b: round(100.0 * a / b, 1) if b else None  # noqa: E731
    return {"episode_se": pct(tot["reference_episodes_found"], tot["reference_episodes"]),
            "episode_ppv": pct(tot["detected_episodes_true"], tot["detected_episodes"]),
            "duration_se": pct(tot["overlap_seconds"], tot["reference_seconds"]),
            "duration_ppv": pct(tot["overlap_seconds"], tot["detected_seconds"]), **tot}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args(argv)
    from tqdm import tqdm
    print("| rhythm | AF time, mean over seeds | AF time, worst seed |")
    print("|---|---|---|")
    for kind in tqdm(M.KINDS, desc="rhythms", leave=False):
        f = np.array([af_fraction(kind, s) for s in range(args.seeds)])
        print(f"| {kind} | {100 * f.mean():.1f} % | {100 * f.max():.1f} % |")
    p = paroxysmal(range(args.seeds))
    print(f"\nparoxysmal ({p['reference_episodes']} AF episodes of 10-120 s in {args.seeds} x 30 min): "
          f"episode Se {p['episode_se']} +P {p['episode_ppv']}, duration Se {p['duration_se']} +P {p['duration_ppv']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
