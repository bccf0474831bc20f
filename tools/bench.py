#!/usr/bin/env python3
"""Benchmark a model on a firmware env: convert, build, run on QEMU (or a
flashed board with --port), compare every output with tflite_micro.

    python tools/bench.py --model ../shared/bench/ecg_s.tflite --env mps2_an386 --json out.json

Bench models (../shared/bench/*.tflite) use their *_input_int8.npy vectors,
other models seeded random int8. Prints a table; --json writes the numbers.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg import bench, firmware  # noqa: E402
from tinyecg.cli import run_main  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help=".tflite (int8) or .keras model")
    ap.add_argument("--env", default=firmware.DEFAULT_ENV, help="PlatformIO env (default %(default)s)")
    ap.add_argument("--port", default=None, help="serial port of a flashed board (default: QEMU)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--profile", action="store_true",
                    help="build with per-layer counters and print instructions per layer and per MAC")
    ap.add_argument("--json", default=None, help="write the results as JSON here")
    ap.add_argument("--vectors", type=int, default=64, help="random vectors for non-bench models")
    ap.add_argument("--build-dir", default=None, help="work dir for generated C and the build "
                    "(default .pio/bench/<model>-<env>)")
    args = ap.parse_args()
    res = bench.bench(args.model, args.env, port=args.port, n_random=args.vectors, baud=args.baud,
                      work=Path(args.build_dir) if args.build_dir else None, profile=args.profile)
    print(res.table())
    if args.json:
        Path(args.json).write_text(json.dumps(res.data, indent=2, sort_keys=True) + "\n")
    return 1 if res.data["mismatches"] else 0


if __name__ == "__main__":
    run_main(main)
