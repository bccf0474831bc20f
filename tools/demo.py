#!/usr/bin/env python3
"""`make demo`: build the default firmware, boot it on the emulated Cortex-M4F
board (QEMU mps2-an386) and talk to it over its serial port."""

import argparse
import time

from tinyecg import firmware, qemu
from tinyecg.cli import run_main
from tinyecg.protocol import Msg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--env", default=firmware.DEFAULT_ENV, help="QEMU env to run (default %(default)s)")
    args = ap.parse_args()

    print(f"[1/3] building firmware for {args.env} (pio run -e {args.env})")
    t0 = time.monotonic()
    elf = firmware.build(args.env)
    size = firmware.image_size(elf)
    print(f"      {elf.relative_to(firmware.ROOT)}: flash {size['flash_bytes']} B, "
          f"RAM {size['ram_bytes']} B (+{size['stack_reserve_bytes']} B stack) "
          f"in {time.monotonic() - t0:.1f} s")

    print(f"[2/3] booting it in QEMU {firmware.qemu_machine(args.env)} (-icount shift=0)")
    board = qemu.boot(args.env, elf)
    with board as dev:
        t0 = time.monotonic()
        boot = dev.wait_for(Msg.BOOT, timeout=10)
        dev.ping(b"demo")
        print(f"      boot frame and PING answered {1000 * (time.monotonic() - t0):.0f} ms after connect")
        print("[3/3] device INFO:")
        for key, value in dev.info().items():
            print(f"      {key:10s} {value}")
        assert boot.kv()["board"] == firmware.board_of(args.env)
    return 0


if __name__ == "__main__":
    run_main(main)
