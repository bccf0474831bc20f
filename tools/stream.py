#!/usr/bin/env python3
"""Stream a WFDB record through the device's beat pipeline and score it (EC57).

    python tools/stream.py --record ../shared/data/mitdb/100 --json out/100.json
    python tools/stream.py --record 100 --port /dev/ttyACM0 --realtime --json 100.json

Without --port the env's firmware is built and booted in QEMU (default
mps2_an386).  Writes the JSON report, a WFDB annotation file beside it
(<record>.tecg, readable by wfdb.rdann) and prints a summary.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg import firmware, qemu, report  # noqa: E402
from tinyecg import stream as S  # noqa: E402
from tinyecg.cli import positive, run_main  # noqa: E402
from tinyecg.device import Device  # noqa: E402
from tinyecg.errors import TinyEcgError  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--record", required=True, help="WFDB record path (dir/100) or MIT-BIH record number")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--env", default=None, help=f"QEMU env to build and boot (default {firmware.DEFAULT_ENV})")
    where.add_argument("--port", default=None, help="serial port / pyserial URL of a flashed board")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--realtime", action="store_true", help="pace the samples at the record's rate")
    ap.add_argument("--json", required=True, help="report output (JSON); annotations go beside it")
    ap.add_argument("--model", default=None, help=f"the int8 .tflite the device runs (default {S.DEFAULT_MODEL.relative_to(firmware.ROOT)})")
    ap.add_argument("--model-dir", default=None, help="QEMU: build with this generated model dir (TINYECG_MODEL_DIR)")
    ap.add_argument("--no-build", action="store_true", help="QEMU: boot the existing image, do not run pio")
    ap.add_argument("--build-dir", default=None, help="QEMU: PlatformIO build dir (default .pio/build)")
    ap.add_argument("--check-inputs", action="store_true",
                    help="have the device send each beat's int8 model inputs and compare them too")
    ap.add_argument("--encoding", choices=("delta8", "raw"), default="delta8",
                    help="sample encoding on the wire (default %(default)s: ~1 byte/sample; raw: int16)")
    ap.add_argument("--score-from", type=float, default=S.EC57_START_SECONDS,
                    help="score beats from this time in s (default %(default)g: EC57 learning period)")
    ap.add_argument("--data-dir", default=None, help="MIT-BIH directory for record numbers")
    ap.add_argument("--clock-hz", type=positive(float), default=None, help="MCU clock (default: the device's clock_hz)")
    ap.add_argument("--run-ma", type=positive(float), default=S.POWER_DEFAULTS["run_ma"], help="MCU run current, mA (default %(default)g)")
    ap.add_argument("--sleep-ua", type=positive(float), default=S.POWER_DEFAULTS["sleep_ua"],
                    help="MCU current asleep in WFI, uA (default %(default)g)")
    ap.add_argument("--battery-mah", type=positive(float), default=S.POWER_DEFAULTS["battery_mah"], help="battery, mAh (default %(default)g)")
    ap.add_argument("--strip-start", type=float, default=300.0,
                    help="ECG strip picture (<json stem>_strip.png): start in s (default %(default)g; 0 for short records)")
    ap.add_argument("--strip-seconds", type=positive(float), default=10.0, help="ECG strip length in s (default %(default)g)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()

    out = Path(args.json)
    if out.is_dir():
        raise TinyEcgError(f"--json {out} is a directory; give a file name")
    rec_name = Path(args.record).with_suffix("").name if Path(args.record).suffix in (".hea", ".dat", ".atr") \
        else Path(args.record).name
    S.load_stream_record(args.record, args.data_dir)   # a bad record fails before any device work
    board = None
    if args.port:
        dev = Device(args.port, baud=args.baud, timeout=10.0)
        dev.sync()
    else:
        env = args.env or firmware.DEFAULT_ENV
        firmware.qemu_machine(env)   # a real board env without --port: one-line error
        base = Path(args.build_dir) if args.build_dir else None
        if args.no_build:
            elf = firmware.elf_path(env, base)
        else:
            elf = firmware.build(env, Path(args.model_dir) if args.model_dir else None, base)
        board = qemu.boot(env, elf)
        dev = board.start()
        dev.sync()
    try:
        rep = S.run(args.record, dev, args.model, args.realtime, args.check_inputs, args.data_dir,
                    args.score_from, args.clock_hz, args.run_ma, args.sleep_ua, args.battery_mah,
                    progress=not args.no_progress, ann_base=out.parent / rec_name, encoding=args.encoding)
    finally:
        if board is not None:
            board.close()
        else:
            dev.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep, indent=1) + "\n")
    for line in S.summary_lines(rep):
        print(line)
    strip = out.with_name(out.stem + "_strip.png")
    start = args.strip_start if args.strip_start * S.P.FS_IN < rep["samples_sent"] else 0.0
    report.ecg_strip(args.record, Path(rep["annotations"]), strip, start, args.strip_seconds, args.data_dir)
    print(f"wrote {out}, {rep.get('annotations')} and {strip}")
    return 0


if __name__ == "__main__":
    run_main(main)
