#!/usr/bin/env python3
"""Quantize (if .keras) and generate C for a model, for one firmware env.

    python tools/convert.py --model models/arrhythmia/model.tflite --env mps2_an386
    python tools/convert.py --model ../shared/bench/ecg_m.tflite --out build/ecg_m

Prints operators, parameters, MACs, weight and arena bytes beside the arena
the tflite_micro runtime needs; refuses a model that does not fit the env's
flash/RAM, measured by linking the firmware image it makes (docs/engine.md,
"Does it fit the board?"). The default --out is firmware/model, the model
`pio run` builds.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg import convert, firmware  # noqa: E402
from tinyecg.cli import run_main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help=".tflite (int8) or .keras model")
    ap.add_argument("--env", default=firmware.DEFAULT_ENV, help="PlatformIO env whose board limits apply")
    ap.add_argument("--out", default=str(ROOT / "firmware" / "model"), help="output dir for the generated C")
    ap.add_argument("--class-names", default=None,
                    help="comma-separated class names for model_config.h (e.g. N,S,V,F,Q)")
    ap.add_argument("--data-dir", default=None,
                    help="MIT-BIH records for the .keras representative set (default: TINYECG_DATA or ../shared/data/mitdb)")
    ap.add_argument("--no-tflm", action="store_true", help="skip measuring the tflite_micro arena")
    args = ap.parse_args()
    names = [c.strip() for c in args.class_names.split(",")] if args.class_names else None
    prog, fit, tflm = convert.convert(args.model, args.env, args.out, names, measure_tflm=not args.no_tflm,
                                    data_dir=args.data_dir)
    for line in convert.summary_lines(prog, tflm, fit, args.env):
        print(line)
    print(f"wrote {', '.join(convert.codegen.GENERATED_FILES)} to {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
