#!/usr/bin/env python3
"""QRS detection: tinyecg's integer detector against neurokit2, scored the same way.

Both detectors get the same MIT-BIH records (the MLII lead, 360 Hz):

* **tinyecg**: the fixed-point chain (``preprocess.frontend_block`` then
  ``qrs.detect_block``, bit-exact with the device) on the raw ADC samples
  followed by the end-of-recording tail (``preprocess.with_tail``), R
  positions mapped back to raw samples;
* **neurokit2**: ``ecg_clean(method="pantompkins1985")`` then
  ``ecg_peaks(method="pantompkins1985")`` on the same samples in mV.

Both are scored by ``tinyecg.ec57`` (bxb matching, 150 ms, from minute 5):
per-record FN/FP and gross Se/+P.  The figures go into docs/preprocessing.md.

    .venv/bin/python scripts/benchmarks/qrs_vs_neurokit.py --records DS2 [--json out.json]

Choose detector constants on DS1 only; DS2 is the test set.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from tinyecg import data as D  # noqa: E402
from tinyecg import ec57  # noqa: E402
from tinyecg import preprocess as P  # noqa: E402

DETECTORS = ("tinyecg", "neurokit2")


def tinyecg_peaks(signal: np.ndarray) -> np.ndarray:
    w = P.frontend_block(P.with_tail(signal))
    r = P.j_to_raw(P.detect_block(w))
    return r[r < signal.size]


def neurokit_peaks(signal: np.ndarray) -> np.ndarray:
    import neurokit2 as nk
    mv = (signal.astype(np.float64) - 1024.0) / D.ADC_GAIN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.ecg_clean(mv, sampling_rate=P.FS_IN, method="pantompkins1985")
        _, info = nk.ecg_peaks(clean, sampling_rate=P.FS_IN, method="pantompkins1985")
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


def score_record(rec) -> dict:
    r = D.load_record(rec)
    labels = ec57.aami_labels(r.symbols)
    out = {"record": str(rec)}
    for name, fn in (("tinyecg", tinyecg_peaks), ("neurokit2", neurokit_peaks)):
        peaks = fn(r.signal)
        cmp = ec57.compare(r.r_samples, labels, peaks, ["N"] * len(peaks), P.FS_IN)
        out[name] = {"matrix": cmp.matrix.tolist(), **cmp.statistics()["qrs"]}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", default="DS2", help="DS1, DS2, all or a list like 100,105")
    ap.add_argument("--json", type=Path, help="write per-record and gross figures here")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    recs = D.parse_records(args.records)
    from tqdm import tqdm
    with ProcessPoolExecutor(args.jobs) as ex:
        rows = list(tqdm(ex.map(score_record, recs), total=len(recs), desc="records"))
    print("| record | tinyecg FN | tinyecg FP | neurokit2 FN | neurokit2 FP |")
    print("|---|---|---|---|---|")
    for row in rows:
        t, n = row["tinyecg"], row["neurokit2"]
        print(f"| {row['record']} | {t['fn']} | {t['fp']} | {n['fn']} | {n['fp']} |")
    gross = {d: ec57.gross([row[d]["matrix"] for row in rows])["qrs"] for d in DETECTORS}
    t, n = gross["tinyecg"], gross["neurokit2"]
    print(f"| **gross** | **{t['fn']}** | **{t['fp']}** | **{n['fn']}** | **{n['fp']}** |")
    for d in DETECTORS:
        g = gross[d]
        print(f"{d:10s} gross Se {g['se']:.2f}  +P {g['ppv']:.2f}  (TP {g['tp']}, FN {g['fn']}, FP {g['fp']})")
    if args.json:
        args.json.write_text(json.dumps({"records": args.records, "match_ms": 150, "from_seconds": 300,
                                         "per_record": rows, "gross": gross}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
