#!/usr/bin/env python3
"""Fuzz the firmware over its serial port with structure-aware hostile frames
(docs/hardening.md): QEMU by default, or a flashed board with --port.

    python tools/fuzz_device.py --frames 100000 --env mps2_an386 --json out/fuzz_device.json

Every answer is predicted (tinyecg.fuzz.device); after each batch the device
must answer PING, and it must never send FAULT, BOOT, a malformed frame or a
receive overrun.  Exit status 1 on the first finding, with the batch's bytes.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg import firmware, qemu  # noqa: E402
from tinyecg.cli import run_main  # noqa: E402
from tinyecg.device import Device  # noqa: E402
from tinyecg.errors import TinyEcgError  # noqa: E402
from tinyecg.fuzz.device import DeviceFuzzer, Finding  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=10000, help="frames to send (default %(default)s)")
    ap.add_argument("--env", default=firmware.DEFAULT_ENV, help="PlatformIO env (default %(default)s)")
    ap.add_argument("--port", default=None, help="serial port of a flashed board (default: build + QEMU)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-build", action="store_true", help="use the env's existing image")
    ap.add_argument("--json", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    if args.frames < 1:
        raise TinyEcgError("--frames must be at least 1")
    board = None
    if args.port:
        dev = Device(args.port, baud=args.baud)
        dev.sync()
    else:
        elf = firmware.elf_path(args.env) if args.no_build else firmware.build(args.env)
        board = qemu.boot(args.env, elf)
        dev = board.start()
        dev.wait_for(0x7D)  # the BOOT frame QemuBoard kept for us
    t0 = time.monotonic()
    finding = None
    try:
        fz = DeviceFuzzer(dev, seed=args.seed)
        try:
            fz.run(args.frames, progress=True)
        except Finding as exc:
            finding = str(exc)
        stats = fz.stats
    finally:
        if board is not None:
            board.close()
        else:
            dev.close()
    seconds = time.monotonic() - t0
    print(stats.line() if finding is None else f"FINDING after {stats.frames} frames: {finding}")
    print(f"{args.env}: {seconds:.0f} s, {stats.frames / max(seconds, 1e-9):.0f} frames/s, seed {args.seed}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "env": args.env, "seed": args.seed, "frames": stats.frames, "batches": stats.batches,
            "bytes": stats.bytes, "beats": stats.beats, "answers": dict(stats.answers),
            "seconds": round(seconds), "finding": finding}, indent=2, sort_keys=True) + "\n")
    return 1 if finding else 0


if __name__ == "__main__":
    run_main(main)
