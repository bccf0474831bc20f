#!/usr/bin/env python3
"""Differential fuzzing of the converter against tflite_micro (docs/hardening.md).

    python tools/fuzz_convert.py --mutants 100000 --json out/fuzz_convert.json   # the long run
    python tools/fuzz_convert.py --replay build/fuzz-convert/findings/*.tflite   # judge saved mutants again

Mutants of real .tflite files (../shared/bench, the shipped model, and with
--engine-models the small models tests/engine builds) must be refused with
one line, or converted to C that equals tflite_micro bit for bit on random
and extreme inputs.  A finding is saved in <work>/findings/ (the mutant and
what was wrong); the exit status is 1 if there was any.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg.cli import run_main  # noqa: E402
from tinyecg.errors import TinyEcgError  # noqa: E402
from tinyecg.firmware import ROOT  # noqa: E402
from tinyecg.fuzz import converter as C  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutants", type=int, default=1000, help="how many mutants (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="random seed of the mutator")
    ap.add_argument("--work", default=str(ROOT / "build" / "fuzz-convert"), help="work dir (default %(default)s)")
    ap.add_argument("--engine-models", action="store_true",
                    help="also mutate the small single-operator models of tests/engine (built once with TF)")
    ap.add_argument("--fit-every", type=int, default=C.FIT_EVERY,
                    help="run the fit check (a firmware link, ~3-5 s) on one mutant in this many, and always on "
                    "models past 256 KiB (default %(default)s)")
    ap.add_argument("--replay", nargs="+", default=None, help="judge these saved mutants instead")
    ap.add_argument("--json", default=None, help="write the counts and findings as JSON here (also every 500 "
                    "mutants during the run)")
    args = ap.parse_args()
    work = Path(args.work)
    if args.replay:
        bad = 0
        for p in args.replay:
            kind, s = C.replay_file(work / "replay", Path(p))
            detail = s.findings[-1][3] if s.findings else ""
            print(f"{Path(p).name}: {kind}{': ' + detail if detail else ''}")
            bad += kind in C.BUGS
        return 1 if bad else 0
    if args.mutants < 1:
        raise TinyEcgError("--mutants must be at least 1")
    if args.fit_every < 1:
        raise TinyEcgError("--fit-every must be at least 1")
    extra = C.engine_test_models(work / "seeds") if args.engine_models else {}
    seeds = C.seed_models(extra)
    print(f"seeds: {', '.join(f'{k} ({len(v)} B)' for k, v in seeds.items())}")
    fz = C.ConverterFuzzer(work, seeds, seed=args.seed, fit_every=args.fit_every)

    def write_json(summary):
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({
                "mutants": summary.mutants, "seconds": round(summary.seconds), "counts": dict(summary.counts),
                "host_builds": fz.host.builds, "host_compiles": fz.host.compiles, "findings": summary.findings, "seeds": sorted(seeds),
                "seed": args.seed, "fit_every": args.fit_every}, indent=2, sort_keys=True) + "\n")

    try:
        summary = fz.run(args.mutants, progress=True, checkpoint=write_json,
                         on_finding=lambda f: print(f"FINDING {f[0]}: {f[2]} -> {f[1]}: {f[3][:200]}", flush=True))
    finally:
        fz.close()
    print(summary.line())
    print(f"{summary.seconds:.0f} s, {summary.mutants / max(summary.seconds, 1e-9):.2f} mutants/s; "
          f"tflite_micro refusals: " + ", ".join(f"{k[5:]} {v}" for k, v in sorted(summary.counts.items())
                                                if k.startswith("tflm_") and k != "tflm_refused"))
    write_json(summary)
    return 1 if summary.bugs else 0


if __name__ == "__main__":
    run_main(main)
