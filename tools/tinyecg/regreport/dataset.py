"""Section 4, data: which database, which records for what, the SHA-256 of
every record file read, records excluded and why, the AAMI class mapping and
the reference beats per class in each split.

The splits are the ones the code uses (:mod:`tinyecg.data`); the shipped
model's ``metrics.json`` records the split it was trained with, and the two
are checked against each other here.  Every record file is hashed and, when
the database directory holds PhysioNet's ``SHA256SUMS.txt``, compared with it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .. import data as D
from ..errors import TinyEcgError
from .evidence import Evidence

#: Why records are left out (de Chazal et al. 2004, following AAMI EC57).
EXCLUDED_REASON = ("paced rhythm: AAMI EC57 and the de Chazal 2004 inter-patient protocol exclude the "
                   "records with paced beats (the classifier is not meant for paced patients)")
DATABASE = {"name": "MIT-BIH Arrhythmia Database", "version": "1.0.0", "publisher": "PhysioNet",
            "url": D.PHYSIONET_URL, "licence": "Open Data Commons Attribution License v1.0",
            "lead": "MLII (the first channel of every record used)",
            "reference": "Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. "
                         "IEEE Eng Med Biol 20(3):45-50 (2001)"}


def symbol_descriptions() -> dict[str, str]:
    """WFDB's own description of each annotation symbol."""
    from wfdb.io.annotation import ann_label_table
    return {str(s): str(d) for s, d in zip(ann_label_table["symbol"], ann_label_table["description"])}


def aami_mapping() -> list[dict]:
    desc = symbol_descriptions()
    rows = []
    for cls in ("N", "S", "V", "F", "Q"):
        for sym, c in D.AAMI.items():
            if c == cls:
                rows.append({"symbol": sym, "description": desc.get(sym, ""), "aami_class": cls,
                             "scored_as": cls if cls in D.CLASSES else "not a model class (not scored per class)"})
    return rows


def record_files(ev: Evidence, ddir: Path, records, role: str) -> None:
    for rec in records:
        for ext in ("hea", "dat", "atr"):
            f = ddir / f"{rec}.{ext}"
            if not f.is_file():
                raise TinyEcgError(f"record {rec}: missing {f.name} in {ddir}")
            ev.note_file(f, role)


def physionet_check(ev: Evidence, ddir: Path) -> dict:
    """Compare the hashes of the record files read with PhysioNet's SHA256SUMS.txt."""
    sums = ddir / "SHA256SUMS.txt"
    if not sums.is_file():
        return {"file": None, "note": "no SHA256SUMS.txt in the data directory: files not checked against PhysioNet"}
    listed = {}
    for line in ev.read_text(sums, "PhysioNet's checksums of the database").splitlines():
        parts = line.split()
        if len(parts) == 2:
            listed[parts[1].lstrip("*")] = parts[0]
    checked = mismatched = unlisted = 0
    for key, f in ev.files.items():
        if not key.startswith("<data>/") or key.endswith("SHA256SUMS.txt"):
            continue
        name = key[len("<data>/"):]
        if name not in listed:
            unlisted += 1
        elif listed[name] == f["sha256"]:
            checked += 1
        else:
            mismatched += 1
            f["role"] += "; DIFFERS FROM PhysioNet's SHA256SUMS"
    if mismatched:
        raise TinyEcgError(f"{mismatched} MIT-BIH file(s) differ from PhysioNet's SHA256SUMS.txt in {ddir}: "
                           "the database is corrupt or modified")
    return {"file": "SHA256SUMS.txt", "files_matching": checked, "files_differing": mismatched,
            "files_not_listed": unlisted}


def beats_per_class(records, data_dir) -> dict:
    """Reference beat annotations (MLII records as the chain reads them) per AAMI class."""
    total = Counter()
    per_record = {}
    for rec in records:
        c = Counter(D.load_record(rec, data_dir).aami.tolist())
        per_record[str(rec)] = {k: int(c.get(k, 0)) for k in ("N", "S", "V", "F", "Q")}
        total.update(c)
    return {"total": {k: int(total.get(k, 0)) for k in ("N", "S", "V", "F", "Q")}, "per_record": per_record}


def model_split(ev: Evidence, metrics_file: Path) -> dict:
    """The split the shipped model records in its metrics.json, checked against tinyecg.data."""
    if not metrics_file.is_file():
        return {"note": f"{metrics_file.name} not found: the model's training split is not recorded"}
    cfg = json.loads(ev.read_text(metrics_file, "the shipped model's training record and figures")).get("config", {})
    split = {k: cfg.get(k) for k in ("train_records", "val_records", "test_records")}
    used = set((split["train_records"] or []) + (split["val_records"] or []))
    if used & set(D.DS2):
        raise TinyEcgError(f"{metrics_file}: the model was trained or validated on DS2 records "
                           f"{sorted(used & set(D.DS2))}: the DS2 figures would not be held-out")
    split["consistent_with_tinyecg_data"] = (sorted(used) == sorted(D.DS1) and
                                             sorted(split["test_records"] or []) == sorted(D.DS2))
    return split


def dataset(ev: Evidence, data_dir, metrics_file: Path, streamed: list[str], excerpt_s: float | None,
            progress: bool = False) -> dict:
    ddir = D.resolve_data_dir(data_dir)
    records = {"DS1": D.DS1, "DS2": D.DS2}
    for name, recs in records.items():
        record_files(ev, ddir, recs, f"{name} record (reference beats counted)")
    counts = {}
    from tqdm import tqdm
    for name, recs in tqdm(records.items(), desc="data: beats per class", disable=not progress, leave=False):
        counts[name] = beats_per_class(recs, ddir)
    return {
        "database": {**DATABASE, "directory": str(ddir)},
        "physionet_checksums": physionet_check(ev, ddir),
        "splits": {"DS1 (training, de Chazal 2004)": list(D.DS1), "DS1 validation patients (inside DS1)":
                   list(D.DS1_VALIDATION), "DS2 (test, scored once)": list(D.DS2)},
        "excluded": [{"record": r, "reason": EXCLUDED_REASON} for r in D.PACED],
        "model_split": model_split(ev, metrics_file),
        "aami_mapping": aami_mapping(),
        "beats_per_class": counts,
        "streamed_in_this_report": {"records": streamed, "excerpt_seconds": excerpt_s},
    }
