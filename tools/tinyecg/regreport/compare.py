"""Section 9, change from a previous report: the deltas of every headline figure.

Headline figures are the scalar leaves of the report's summary subtrees
(identification ids and hashes, EC57 gross and average statistics, the
uncertain flag, equivalence totals, resources, test verdicts), flattened to
dotted keys.  New figures that land in those subtrees (a rhythm section's
gross statistics, say) become headline figures without a change here.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import TinyEcgError
from .evidence import Evidence

#: (dotted path in report.json, label prefix): subtrees whose scalar leaves are headline figures.
HEADLINE_SUBTREES = (
    ("identification.git.commit", "git commit"),
    ("identification.git.dirty", "working tree dirty"),
    ("identification.model.tflite.model_id", "model id"),
    ("identification.model.tflite.sha256", "model .tflite SHA-256"),
    ("identification.model.keras.sha256", "model .keras SHA-256"),
    ("identification.firmware.build_id", "firmware build id"),
    ("identification.firmware.image_sha256", "firmware image SHA-256"),
    ("ec57.gross", "EC57 gross"),
    ("ec57.average", "EC57 average"),
    ("ec57.gross_whole_record", "EC57 gross, whole records"),
    ("ec57.uncertain.total", "uncertain flag"),
    ("rhythm.gross", "rhythm gross"),
    ("equivalence.device_vs_host.total", "device vs host"),
    ("equivalence.infer", "INFER parity"),
    ("resources.streams", "cost"),
    ("resources.model", "model on the device"),
    ("traceability.test_id_verdicts", "test ids"),
)
#: Leaves that are bookkeeping, not figures.
SKIP_LEAVES = ("matrix", "records", "note", "command")


def _get(obj, path: str):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _flatten(obj, prefix: str, out: dict) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in SKIP_LEAVES:
                continue
            _flatten(v, f"{prefix}.{k}", out)
    elif isinstance(obj, (int, float, str, bool)) or obj is None:
        out[prefix] = obj


def headline(report: dict) -> dict:
    out: dict = {}
    for path, _label in HEADLINE_SUBTREES:
        val = _get(report, path)
        if val is not None:
            _flatten(val, path, out)
    return out


def load_previous(ev: Evidence, path: Path) -> dict:
    try:
        prev = json.loads(ev.read_text(Path(path), "the previous report compared with"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise TinyEcgError(f"--previous {path}: not a report.json ({exc})") from None
    if not isinstance(prev, dict) or "headline" not in prev:
        raise TinyEcgError(f"--previous {path}: not a report.json written by tools/report.py (no headline figures)")
    return prev


def deltas(previous: dict, current: dict) -> list[dict]:
    """One row per headline figure present in either report."""
    before, after = previous.get("headline", {}), current
    rows = []
    for key in list(after) + [k for k in before if k not in after]:
        a, b = before.get(key), after.get(key)
        if key not in before:
            change = "new"
        elif key not in after:
            change = "removed"
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
                and not isinstance(b, bool):
            d = b - a
            change = round(d, 4) if d else 0
        else:
            change = "same" if a == b else "changed"
        rows.append({"figure": key, "previous": a, "current": b, "change": change})
    return rows


def change_section(ev: Evidence, previous_path: Path | None, current_headline: dict) -> dict:
    if previous_path is None:
        return {"previous": None, "note": "no previous report given (--previous report.json)"}
    prev = load_previous(ev, previous_path)
    rows = deltas(prev, current_headline)
    return {"previous": {"file": str(previous_path), "sha256": ev.sha256(Path(previous_path)),
                         "generated": prev.get("generated"),
                         "commit": (prev.get("identification", {}).get("git", {}) or {}).get("commit")},
            "rows": rows, "changed": sum(1 for r in rows if r["change"] not in (0, "same"))}
