#!/usr/bin/env python3
"""A performance and traceability report for a regulatory file: one HTML page.

    python tools/report.py [--env mps2_an386 | --port /dev/ttyACM0 --env nucleo_l432kc] --out build/report
                           [--previous old/report.json] [--records DS2] [--excerpt SECONDS] [--jobs N]

Runs what it needs in this invocation -- builds the firmware, streams the
records through the device (QEMU by default; a flashed board with --port),
scores them the EC57 way (tinyecg.ec57), builds every env, profiles the model
on the device -- reads the rest from files whose SHA-256 it lists (model,
docs/verification.md and the last test run's JUnit XML, MIT-BIH), and writes
<out>/index.html (self-contained) and <out>/report.json (every figure).
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg import firmware  # noqa: E402
from tinyecg.cli import positive, run_main  # noqa: E402
from tinyecg.errors import TinyEcgError  # noqa: E402
from tinyecg.regreport.build import Options, build_report  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default=firmware.DEFAULT_ENV, help="PlatformIO env of the device (default %(default)s)")
    ap.add_argument("--port", default=None, help="serial port of a board flashed with --env's image (default: QEMU)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--out", default=str(firmware.ROOT / "build" / "report"), help="output directory (default build/report)")
    ap.add_argument("--previous", default=None, help="a previous report.json: the report lists the change of every headline figure")
    ap.add_argument("--records", default="DS2", help="records to stream: DS2 (default), or 100,200,...")
    ap.add_argument("--excerpt", type=positive(float), default=None, metavar="SECONDS",
                    help="stream only the first SECONDS of each record (a quick report; it says so)")
    ap.add_argument("--jobs", type=positive(int), default=os.cpu_count() or 1,
                    help="QEMU instances streaming at once (default: the number of CPUs, %(default)s)")
    ap.add_argument("--model", default=str(firmware.ROOT / "models" / "arrhythmia" / "model_int8.tflite"),
                    help="the int8 .tflite the firmware was generated from (default: the shipped model)")
    ap.add_argument("--junit", nargs="*", default=None,
                    help="JUnit XML files of the last test run (default build/test-results/*.xml, written by make test)")
    ap.add_argument("--envs", default=None, help="envs whose image sizes to report (default: every env of platformio.ini)")
    ap.add_argument("--data-dir", default=None, help="MIT-BIH directory (default: TINYECG_DATA or ../shared/data/mitdb)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()
    if args.previous and not Path(args.previous).is_file():
        raise TinyEcgError(f"--previous {args.previous}: no such file")
    if args.excerpt is not None and args.excerpt <= 300:
        raise TinyEcgError("--excerpt must be longer than EC57's 5-minute learning period (300 s)")
    envs = [e.strip() for e in args.envs.split(",") if e.strip()] if args.envs else None
    for e in envs or []:
        firmware.board_of(e)
    t0 = time.monotonic()
    opts = Options(out=Path(args.out), env=args.env, port=args.port, baud=args.baud, records=args.records,
                   excerpt_seconds=args.excerpt, jobs=args.jobs, model=Path(args.model),
                   previous=Path(args.previous) if args.previous else None,
                   junit=[Path(p) for p in args.junit] if args.junit is not None else None, envs=envs,
                   data_dir=args.data_dir, progress=not args.no_progress, argv=sys.argv[1:])
    rep = build_report(opts)
    g = rep["ec57"]["gross"]
    print(f"EC57 gross over {len(rep['ec57']['records'])} records: QRS Se {g['qrs']['se']} +P {g['qrs']['ppv']}, "
          f"VEB Se {g['veb']['se']} +P {g['veb']['ppv']}, SVEB Se {g['sveb']['se']} +P {g['sveb']['ppv']}; "
          f"{rep['equivalence']['device_vs_host']['total']['mismatches']} host/device mismatches")
    print(f"wrote {Path(args.out) / 'index.html'} and {Path(args.out) / 'report.json'} "
          f"in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    run_main(main)
