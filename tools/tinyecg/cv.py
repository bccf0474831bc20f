"""Patient-wise cross-validation inside DS1: the only place choices are made.

Every choice of the recipe (inputs, architecture, loss and class weights,
epochs, distillation temperature, the temperature and threshold of the
``uncertain`` flag) is judged on DS1 patients held out of training, never on
DS2. DS1's 22 patients are split into :data:`FOLDS`: five groups of whole
records, each with patients rich in supraventricular (S) and in ventricular
(V) beats, so every fold tests both. A fold's model is trained on the other
four groups and predicts the held-out one; the five held-out predictions
together cover every DS1 beat once (out-of-fold, "OOF").

Figures per fold are EC57 gross statistics over the fold's records
(:mod:`tinyecg.ec57`); :func:`summarize` gives mean, standard deviation,
min and max over the folds, and the pooled statistics of all OOF beats.
The selection criterion (:data:`CRITERION`) is the pooled macro-F1 over N,
S and V with the reference R peaks.
"""

from __future__ import annotations

import numpy as np

from . import data as D
from . import ec57
from .errors import TinyEcgError

#: Five groups of DS1 records (S-rich: 209 201 207 118 220 223 124; V-rich: 119 208
#: 106 203 215 223 116 205 201 207), each with S and V patients in it.
FOLDS = (
    (209, 119, 101, 115, 230),
    (201, 208, 112, 122),
    (207, 106, 124, 109),
    (118, 203, 215, 114, 108),
    (220, 223, 116, 205),
)

#: The selection criterion: pooled out-of-fold macro-F1 over N, S, V (reference R peaks).
CRITERION = "macro_f1_nsv"

#: The statistics summarized over folds (group, key) -- per-class Se/+P, EC57 VEB/SVEB, macro-F1.
SUMMARY_STATS = (("classes.N", "se"), ("classes.N", "ppv"), ("classes.S", "se"), ("classes.S", "ppv"),
                 ("classes.V", "se"), ("classes.V", "ppv"), ("veb", "se"), ("veb", "ppv"),
                 ("sveb", "se"), ("sveb", "ppv"), ("", "macro_f1_nsv"), ("", "macro_f1"), ("", "accuracy"))


def check_records(records, what: str = "training") -> None:
    """Refuse any DS2 (test) or paced record: DS2 never reaches training, selection or calibration."""
    bad = sorted(set(int(r) for r in records) & set(D.DS2))
    if bad:
        raise TinyEcgError(f"DS2 records {bad} are the test set and must never be used for {what}")
    paced = sorted(set(int(r) for r in records) & set(D.PACED))
    if paced:
        raise TinyEcgError(f"paced records {paced} are excluded")


def check_folds(folds=FOLDS) -> None:
    """Folds are disjoint groups of DS1 records that cover DS1."""
    flat = [int(r) for f in folds for r in f]
    check_records(flat, "cross-validation")
    if len(flat) != len(set(flat)):
        raise TinyEcgError("cross-validation folds overlap: a patient would be in training and test")
    if set(flat) != set(D.DS1):
        raise TinyEcgError(f"cross-validation folds must cover DS1 exactly (missing {sorted(set(D.DS1) - set(flat))})")


def split(k: int, folds=FOLDS, records=D.DS1) -> tuple[tuple, tuple]:
    """(training records, held-out records) of fold k."""
    held = tuple(int(r) for r in folds[k])
    train = tuple(int(r) for r in records if int(r) not in held)
    check_records(train + held, "cross-validation")
    return train, held


def _get(stats: dict, group: str, key: str):
    d = stats
    for part in [p for p in group.split(".") if p]:
        d = d.get(part, {})
    return d.get(key)


def summarize(fold_stats: list, pooled: dict | None = None) -> dict:
    """Mean, standard deviation, min and max over folds of each SUMMARY_STATS
    figure (folds where it is undefined are left out and counted)."""
    out = {}
    for group, key in SUMMARY_STATS:
        vals = [v for v in (_get(s, group, key) for s in fold_stats) if v is not None]
        name = f"{group.split('.')[-1]}_{key}" if group else key
        out[name] = ({"mean": round(float(np.mean(vals)), 2), "std": round(float(np.std(vals)), 2),
                      "min": round(float(np.min(vals)), 2), "max": round(float(np.max(vals)), 2),
                      "folds": len(vals)} if vals else None)
        if pooled is not None:
            out[name] = (out[name] or {}) | {"pooled": _get(pooled, group, key)}
    return out


def pooled_from_matrices(matrices) -> dict:
    """Pooled (gross) statistics of all held-out beats."""
    return ec57.gross(matrices)


def format_summary(summary: dict, title: str = "") -> str:
    """Markdown table: each figure's pooled value, mean +- std and min-max over folds."""
    f = ec57.fmt
    lines = [title] if title else []
    lines += ["| figure | pooled | mean over folds | std | min | max |", "|---|---:|---:|---:|---:|---:|"]
    for name, v in summary.items():
        if v is None:
            continue
        lines.append(f"| {name} | {f(v.get('pooled'), 0)} | {f(v.get('mean'), 0)} | {f(v.get('std'), 0)} | "
                     f"{f(v.get('min'), 0)} | {f(v.get('max'), 0)} |")
    return "\n".join(lines)
