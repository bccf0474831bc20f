#!/usr/bin/env python3
"""Recompute EC57 beat metrics of a model file on MIT-BIH records.

    python tools/evaluate.py --model models/arrhythmia/model_int8.tflite [--records DS2]
                             [--json OUT] [--detector] [--per-record] [--png OUT.png]

.keras models run in float, .tflite models on the tflite_micro interpreter
with the int8 inputs the device computes. --records: DS2 (default), DS1, all,
or numbers like 100,101; "intra" evaluates an intra_patient/ model on its
random-beat test split. --json writes {"<records>": M} with M as in metrics.json.
"""

import argparse
import os
import json
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")   # TensorFlow's C++ chatter

from tinyecg.cli import run_main
from tinyecg.errors import TinyEcgError


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help=".keras (float) or .tflite (int8) model")
    ap.add_argument("--records", default="DS2", help="DS2 (default), DS1, all, 'intra', or 100,101,...")
    ap.add_argument("--json", default=None, help="write the metrics here")
    ap.add_argument("--detector", action="store_true", help="also run the whole chain with the own QRS detector")
    ap.add_argument("--per-record", action="store_true", help="print the per-record table")
    ap.add_argument("--png", default=None, help="write the confusion matrix plot here")
    ap.add_argument("--seed", type=int, default=1, help="seed of the intra-patient split (as trained)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()

    from tinyecg import data, evaluate, train

    clf = evaluate.load_classifier(args.model)
    data.resolve_data_dir(args.data_dir)
    out = {}
    if args.records.strip().lower() == "intra":
        _, _, te = train.intra_patient_split(tuple(data.DS1) + tuple(data.DS2), args.seed, args.data_dir)
        key = "intra_patient"
        m = evaluate.evaluate_dataset(clf, te, progress=not args.no_progress, desc=key, per_record=False,
                                      sequential=False)
        title = f"{Path(args.model).name} ({clf.kind}): INTRA-patient random beat split (optimistic)"
    else:
        recs = data.parse_records(args.records)
        key = args.records.upper() if args.records.upper() in ("DS1", "DS2", "ALL") else ",".join(map(str, recs))
        ds = train.build_dataset(recs, args.data_dir)
        m = evaluate.evaluate_dataset(clf, ds, progress=not args.no_progress, desc=key)
        title = f"{Path(args.model).name} ({clf.kind}): {key}, reference R peaks"
    out[key] = m
    print(evaluate.format_table(m, f"== {title} =="))
    if args.per_record and "per_record" in m:
        print(evaluate.format_per_record(m))
    if args.detector and key != "intra_patient":
        md = evaluate.evaluate_with_detector(clf, recs, args.data_dir, progress=not args.no_progress)
        out[key + "_own_detector"] = md
        print(evaluate.format_table(md, f"== {key}, own QRS detector =="))
    if args.png:
        evaluate.plot_confusion(m, args.png, title)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    run_main(main)
