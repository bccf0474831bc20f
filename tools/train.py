#!/usr/bin/env python3
"""Train the tinyecg beat classifier on MIT-BIH DS1: cross-validation, teacher ensemble,
distilled int8 student, calibrated 'uncertain' flag; then test it once on DS2.

    python tools/train.py [--out models/arrhythmia] [--quick] [--seed 1] [--data-dir DIR]
    python tools/train.py --seed-spread 5        # + the recipe with 4 more seeds (the longer recipe)

Writes <out>/model.keras (the float student, calibration temperature folded in),
model_int8.tflite, calibration.json, metrics.json, README.md, confusion and
risk-coverage PNGs (tinyecg.train says how each is made).
--quick: six records, two folds, tiny networks, two epochs -- the CI pipeline check.
--seed-spread N: after (or, when <out> already holds this seed's run, instead of)
the run, the recipe with seeds seed+1 .. seed+N-1 into <out>/seeds/, and the
spread of S and V Se/+P over all N runs added to metrics.json and README.md.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")   # TensorFlow's C++ chatter

from tinyecg.cli import run_main
from tinyecg.errors import TinyEcgError


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models/arrhythmia", help="output directory (default: models/arrhythmia)")
    ap.add_argument("--quick", action="store_true", help="CI configuration: a few records, tiny networks")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--teacher-epochs", type=int, default=None, help="override the teacher's epoch count")
    ap.add_argument("--student-epochs", type=int, default=None, help="override the student's epoch count")
    ap.add_argument("--seed-spread", type=int, default=None, metavar="N",
                    help="also run the recipe with N-1 more seeds and report the spread (N >= 2)")
    ap.add_argument("--intra", action="store_true", help="also train the intra-patient (random beat split) student")
    ap.add_argument("--cv-only", action="store_true",
                    help="development: train and cross-validate on DS1, read no DS2 record (writes <out>/cv.json)")
    ap.add_argument("--student-width", type=int, default=None, help="override the student's first conv filters")
    ap.add_argument("--features", default=None, metavar="NAME,NAME",
                    help="the features the networks read (default: the recipe's choice); the device still sends all")
    ap.add_argument("--threads", type=int, default=2, help="TensorFlow threads (default 2)")
    ap.add_argument("--data-dir", default=None, help="MIT-BIH directory (default: $TINYECG_DATA or ../shared/data/mitdb)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()
    for name in ("teacher_epochs", "student_epochs", "student_width", "threads"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise TinyEcgError(f"--{name.replace('_', '-')} must be >= 1 (got {v})")
    if args.seed_spread is not None and args.seed_spread < 2:
        raise TinyEcgError(f"--seed-spread must be >= 2 (got {args.seed_spread})")

    import json
    from pathlib import Path

    from tinyecg import cv, data, evaluate, train

    data.resolve_data_dir(args.data_dir)        # fail fast, one line
    cfg = train.quick_config(args.seed) if args.quick else train.TrainConfig(seed=args.seed)
    cfg.threads = args.threads
    if args.teacher_epochs:
        cfg.teacher_epochs = args.teacher_epochs
    if args.student_epochs:
        cfg.student_epochs = args.student_epochs
    if args.student_width:
        cfg.student.width = args.student_width
    if args.features:
        cfg.features = tuple(f.strip() for f in args.features.split(",") if f.strip())
        train.feature_mask(cfg, cfg.student.n_feat)       # unknown names: one line, before any training
    cfg.intra_patient = args.intra
    log = lambda s: print(s, file=sys.stderr)  # noqa: E731
    command = "python " + " ".join(["tools/train.py"] + sys.argv[1:])
    t0 = time.time()
    done = Path(args.out) / "metrics.json"
    have = (args.seed_spread and done.is_file()
            and json.loads(done.read_text()).get("recipe", {}).get("seed") == cfg.seed)
    if have:
        log(f"{done} already holds the seed-{cfg.seed} run: only the seed spread is added")
        res = json.loads(done.read_text())
    else:
        res = train.run(cfg, args.out, args.data_dir, progress=not args.no_progress, log=log, command=command,
                        test=not args.cv_only)
    if args.cv_only:
        for key in ("teacher", "student_float", "student_int8"):
            print(cv.format_summary(res["cv"][key]["reference_r"]["summary"], f"== CV (DS1), {key}, reference R =="))
        return 0
    if args.seed_spread:
        train.seed_spread(cfg, args.out, args.seed_spread, args.data_dir, progress=not args.no_progress, log=log,
                          command=command)
        res = json.loads(done.read_text())
    for key in ("teacher", "student_float", "student_int8"):
        for kind, m in res["ds2"][key].items():
            print(evaluate.format_table(m, f"== DS2, {key}, {kind.replace('_', ' ')} =="))
    z = res["sizes"]
    print(f"teacher {z['teacher']['params']:,} params ({z['teacher']['float32_bytes']:,} B float32); student "
          f"{z['student']['params']:,} params, {z['student']['macs_per_beat']:,} MACs/beat, int8 .tflite "
          f"{z['student']['int8_tflite_bytes']:,} B (x{z['compression']['teacher_float32_over_student_int8_tflite']}); "
          f"total {time.time() - t0:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
