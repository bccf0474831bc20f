#!/usr/bin/env python3
"""Fuzz the device's C on the host with libFuzzer + AddressSanitizer + UBSan.

    python tools/fuzz.py --seconds 60                 # every target 60 s (make fuzz FUZZ_SECONDS=60)
    python tools/fuzz.py --targets stream --seconds 1800 --coverage --json out/fuzz.json
    python tools/fuzz.py --targets delta8 --seconds 1800 --runs 10000000   # 10^7 executions or 30 min

Each target (tests/fuzz/fuzz_<name>.c) is built with clang, replays its corpus
in tests/fuzz/corpus/<name>/ (seeds and every input that once found a bug),
then fuzzes for --seconds, growing a work corpus in build/fuzz/corpus/<name>/.
A finding leaves its input in build/fuzz/<name>_artifacts/ and makes the exit
status 1: fix the firmware, then keep the input as
tests/fuzz/corpus/<name>/regress-<what-it-found>.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg.cli import run_main  # noqa: E402
from tinyecg.errors import TinyEcgError  # noqa: E402
from tinyecg.firmware import ROOT  # noqa: E402
from tinyecg.fuzz import libfuzzer as L  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60, help="fuzzing time per target (default %(default)s)")
    ap.add_argument("--runs", type=int, default=None, help="also stop a target after this many executions "
                    "(whichever of --seconds and --runs comes first)")
    ap.add_argument("--targets", default=",".join(L.TARGETS), help="comma-separated (default: all)")
    ap.add_argument("--out", default=str(ROOT / "build" / "fuzz"), help="build and work dir (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="libFuzzer -seed (0: random)")
    ap.add_argument("--nice", type=int, default=0, help="run the fuzzers under nice -n N")
    ap.add_argument("--coverage", action="store_true", help="also measure line/branch coverage of the firmware "
                    "code each target is about, over its final corpus")
    ap.add_argument("--json", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    if args.seconds < 1:
        raise TinyEcgError("--seconds must be at least 1")
    if args.runs is not None and args.runs < 1:
        raise TinyEcgError("--runs must be at least 1")
    targets = [t for t in args.targets.split(",") if t]
    for t in targets:
        L.sources(t)  # unknown target: one line before any work
    out = Path(args.out)
    results, failed = {}, False
    for t in targets:
        exe = L.build(t, out)
        rep = L.replay(exe, L.CORPUS_DIR / t)
        if not rep.ok:
            print(f"{t}: the corpus in tests/fuzz/corpus/{t} fails:\n{rep.log_tail}", file=sys.stderr)
            failed = True
            continue
        res = L.fuzz(exe, out / "corpus" / t, L.CORPUS_DIR / t, seconds=args.seconds, runs=args.runs, seed=args.seed,
                     artifact_dir=out / f"{t}_artifacts", nice=args.nice)
        row = {"executions": res.executions, "seconds": res.seconds, "edges": res.edges,
               "features": res.features, "corpus": res.corpus, "new_units": res.new_units,
               "crashes": len(res.artifacts), "artifacts": res.artifacts, "replayed": rep.executions}
        if args.coverage:
            row["coverage"] = L.coverage(t, [out / "corpus" / t, L.CORPUS_DIR / t], out / "coverage")
        results[t] = row
        cov = ""
        for where, c in row.get("coverage", {}).items():
            cov += f"  {where}: lines {c['lines_hit']}/{c['lines']}, branches {c['branches_hit']}/{c['branches']}"
        print(f"{t:9s} {res.executions:>11,} executions in {res.seconds} s, {res.edges} edges, "
              f"{res.features} features, corpus {res.corpus}, crashes {len(res.artifacts)}{cov}", flush=True)
        if not res.ok:
            failed = True
            print(f"{t}: FINDING (exit {res.returncode}); input(s): {', '.join(res.artifacts) or 'none written'}\n"
                  f"{res.log_tail}", file=sys.stderr)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    run_main(main)
