#!/usr/bin/env python3
"""Train the tinyecg beat classifier on MIT-BIH DS1, quantize it, evaluate on DS2.

    python tools/train.py [--out models/arrhythmia] [--quick] [--seed 1] [--data-dir DIR]

Writes <out>/model.keras, model_int8.tflite, metrics.json, confusion PNGs
(and intra_patient/ for the random-beat split, labelled as such).
--quick: a few records, a tiny model, 3 epochs -- the CI pipeline check.
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
    ap.add_argument("--quick", action="store_true", help="CI configuration: a few records, <= 3 minutes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None, help="override the epoch count")
    ap.add_argument("--width", type=int, default=None, help="first conv layer filters")
    ap.add_argument("--depth", type=int, default=None, help="conv blocks")
    ap.add_argument("--no-intra", action="store_true", help="skip the intra-patient (random beat) run")
    ap.add_argument("--threads", type=int, default=2, help="TensorFlow threads (default 2)")
    ap.add_argument("--data-dir", default=None, help="MIT-BIH directory (default: $TINYECG_DATA or ../shared/data/mitdb)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()
    for name in ("epochs", "width", "depth", "threads"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise TinyEcgError(f"--{name} must be >= 1 (got {v})")

    from tinyecg import data, evaluate, train

    data.resolve_data_dir(args.data_dir)        # fail fast, one line
    cfg = train.quick_config(args.seed) if args.quick else train.TrainConfig(seed=args.seed)
    cfg.threads = args.threads
    if args.epochs:
        cfg.epochs = args.epochs
    if args.width:
        cfg.model.width = args.width
    if args.depth:
        cfg.model.depth = args.depth
    if args.no_intra:
        cfg.intra_patient = False
    t0 = time.time()
    res = train.run(cfg, args.out, args.data_dir, progress=not args.no_progress,
                    log=lambda s: print(s, file=sys.stderr),
                    command="python " + " ".join(["tools/train.py"] + sys.argv[1:]))
    for key in ("float", "int8"):
        print(evaluate.format_table(res[key]["DS2"], f"== {key}: DS2, inter-patient, reference R peaks =="))
        print(evaluate.format_table(res[key]["DS2_own_detector"], f"== {key}: DS2, own QRS detector =="))
        if "intra_patient" in res[key]:
            print(evaluate.format_table(res[key]["intra_patient"],
                                        f"== {key}: INTRA-patient random beat split (optimistic) =="))
    c = res["config"]
    print(f"MACs/beat {c['macs_per_beat']}, params {c['params']}, int8 .tflite {c['int8_bytes']} B "
          f"(float .tflite {c['float_tflite_bytes']} B, x{c['int8_vs_float_size']}), tflite_micro arena "
          f"{c['tflm_arena_bytes_host']} B; train {res['train_seconds']:.0f} s, "
          f"total {time.time() - t0:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
