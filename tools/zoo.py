#!/usr/bin/env python3
"""Build the zoo of standard TinyML networks (tinyecg.zoo) and print what the
engine makes of each: MACs, weights, arena against the layer-by-layer floor
and tflite_micro's arena, and for the hot variants how close each layer comes
to the requantization shortcuts' limits.

    python tools/zoo.py                     # all ten models into build/zoo
    python tools/zoo.py --only ds_cnn resnet8_hot --out /tmp/zoo

The .tflite files are cached (rebuilt only when their definition changes);
bench any of them with tools/bench.py --model build/zoo/<name>.tflite.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg import codegen, convert, tflite_import, zoo  # noqa: E402
from tinyecg.cli import run_main  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(zoo.DEFAULT_DIR), help="output directory (default %(default)s)")
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME",
                    help=f"models to build (default: all of {', '.join(zoo.names())})")
    args = ap.parse_args()
    chosen = args.only or zoo.names()
    for name in chosen:
        zoo.network_of(name)  # unknown names: one-line error before any work
    from tqdm import tqdm

    rows = []
    for name in tqdm(chosen, desc="zoo", unit="model"):
        path = zoo.build(name, args.out, progress=tqdm.write)
        data = path.read_bytes()
        prog = codegen.lower(tflite_import.parse(data, str(path)))
        rows.append((name, path, prog, convert.tflm_min_arena(data)))
    print(f"{'model':<15} {'MACs':>11} {'weights B':>10} {'x .tflite':>9} {'arena B':>8} {'floor B':>8} "
          f"{'tflite_micro B':>14}  {'fast layers':>11} {'max |acc|2^(l+1)/2^31':>22}")
    for name, path, prog, tflm in rows:
        weighted = [layer for layer in prog.layers if layer.requant]
        fast = [layer for layer in weighted if ("flags", "TNN_F_FAST") in layer.fields]
        ratio = max((layer.requant["fast_ratio"] for layer in fast), default=0.0)
        print(f"{name:<15} {prog.macs:>11,} {prog.weight_bytes:>10,} {prog.weight_bytes / prog.src_weight_bytes:>9.3f} "
              f"{prog.arena_bytes:>8,} {prog.floor_bytes:>8,} {tflm or 0:>14,}  {len(fast):>5} of {len(weighted):<3} "
              f"{ratio:>22.6f}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
