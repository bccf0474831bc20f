#!/usr/bin/env python3
"""Fetch the MIT-BIH Arrhythmia Database from PhysioNet and check its SHA256SUMS.

    python tools/fetch_data.py [--dir DIR] [--verify-only]

DIR defaults to $TINYECG_DATA, else ../shared/data/mitdb beside the repository.
Offline it fails with one line saying where to put the files.
"""

import argparse
import os

from tinyecg import data
from tinyecg.cli import run_main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=None, help="target directory (default: $TINYECG_DATA or ../shared/data/mitdb)")
    ap.add_argument("--verify-only", action="store_true", help="only check existing files against SHA256SUMS.txt")
    args = ap.parse_args()
    target = args.dir or os.environ.get("TINYECG_DATA") or str(data.repo_root().parent / "shared" / "data" / "mitdb")
    if args.verify_only or (os.path.isdir(target) and os.path.isfile(os.path.join(target, "SHA256SUMS.txt"))
                            and all(os.path.isfile(os.path.join(target, f"{r}.dat")) for r in data.ALL_RECORDS)):
        n = data.verify(target)
        print(f"{target}: {n} files match SHA256SUMS.txt")
        return 0
    data.download(target)
    print(f"{target}: MIT-BIH downloaded and verified")
    return 0


if __name__ == "__main__":
    run_main(main)
