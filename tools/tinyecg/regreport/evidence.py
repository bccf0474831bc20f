"""Where every figure of the report comes from: the files it read (SHA-256)
and the runs it made in this invocation (what, how long, the command).

The report's rule of evidence: a number in the HTML comes either from a run
made while building the report or from a file this registry lists with its
SHA-256.  Every module of the report therefore reads its files through
:meth:`Evidence.read_bytes` / :meth:`Evidence.read_text` /
:meth:`Evidence.note_file`, and wraps its runs in :meth:`Evidence.run`.
"""

from __future__ import annotations

import contextlib
import shlex
import time
from pathlib import Path

from .. import data as D
from ..firmware import ROOT


def display_path(path: Path, data_dir: Path | None = None) -> str:
    """A path as a reviewer reads it: relative to the repository or the data directory."""
    p = Path(path).resolve()
    for base, prefix in ((ROOT, ""), (data_dir, "<data>/")):
        if base is None:
            continue
        try:
            return prefix + str(p.relative_to(Path(base).resolve()))
        except ValueError:
            pass
    return str(p)


class Evidence:
    """Files read (path -> SHA-256, size, why) and runs made (in order)."""

    def __init__(self, data_dir: Path | None = None):
        self.data_dir = Path(data_dir) if data_dir else None
        self.files: dict[str, dict] = {}
        self.runs: list[dict] = []

    # ----------------------------------------------------------------- files
    def note_file(self, path: Path, role: str) -> str:
        """Hash a file the report relies on; returns its SHA-256."""
        path = Path(path)
        key = display_path(path, self.data_dir)
        if key in self.files:
            if role not in self.files[key]["role"]:
                self.files[key]["role"] += f"; {role}"
            return self.files[key]["sha256"]
        digest = D._sha256(path)
        self.files[key] = {"path": key, "sha256": digest, "bytes": path.stat().st_size, "role": role}
        return digest

    def read_bytes(self, path: Path, role: str) -> bytes:
        blob = Path(path).read_bytes()
        self.note_file(path, role)
        return blob

    def read_text(self, path: Path, role: str) -> str:
        return self.read_bytes(path, role).decode("utf-8")

    def sha256(self, path: Path) -> str | None:
        entry = self.files.get(display_path(Path(path), self.data_dir))
        return entry["sha256"] if entry else None

    # ------------------------------------------------------------------ runs
    @contextlib.contextmanager
    def run(self, what: str, command=None):
        """Time a run made for the report; yields the record, which the caller may annotate."""
        rec = {"what": what, "command": (shlex.join(str(c) for c in command) if isinstance(command, (list, tuple))
                                         else command), "status": "running"}
        self.runs.append(rec)
        t0 = time.monotonic()
        try:
            yield rec
        except BaseException:
            rec["status"] = "failed"
            raise
        finally:
            rec["seconds"] = round(time.monotonic() - t0, 1)
        rec["status"] = "done"

    def to_json(self) -> dict:
        return {"files": sorted(self.files.values(), key=lambda f: f["path"]), "runs": self.runs}
