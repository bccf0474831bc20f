"""Flash a tinyecg board through pyOCD: ``pio run -e <board> -t upload``.

The builder runs this script with the venv's Python::

    python pyocd_upload.py --target stm32l432kc [--erase sector|chip]
                           [--probe UID] [--frequency HZ] firmware.elf

1. find a debug probe (ST-LINK, J-Link, CMSIS-DAP); none: one line, exit 3;
2. program the ELF with pyocd's own command line (``pyocd_load_argv``):
   ``pyocd load --no-wait --target T --erase sector --format elf --no-reset``;
3. verify: read every loaded segment back from the MCU and compare; then
   reset the MCU so the new image runs.

Every failure is one line on stderr that names the problem, never a
traceback. ``--dry-run`` prints the pyocd command line and exits.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys

ERASE_MODES = ("sector", "chip", "auto")


def pyocd_load_argv(target: str, elf: str, erase: str = "sector", probe: str | None = None,
                    frequency: str | None = None, python: str | None = None) -> list[str]:
    """The exact ``pyocd load`` command line that programs ``elf``."""
    if erase not in ERASE_MODES:
        raise ValueError(f"erase mode {erase!r}: choose one of {', '.join(ERASE_MODES)}")
    argv = [python or sys.executable, "-m", "pyocd", "load", "--no-wait",
            "--target", target, "--erase", erase, "--format", "elf", "--no-reset"]
    if probe:
        argv += ["--uid", probe]
    if frequency:
        argv += ["--frequency", str(frequency)]
    return argv + [elf]


def elf_load_segments(path: str) -> list[tuple[int, bytes]]:
    """(physical address, bytes) of each PT_LOAD segment with file contents:
    what ends up in flash, .data's initial image included."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise ValueError(f"{path} is not a 32-bit little-endian ELF file")
    phoff, = struct.unpack_from("<I", data, 0x1C)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x2A)
    segments = []
    for i in range(phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz = struct.unpack_from("<5I", data, phoff + i * phentsize)
        if p_type == 1 and p_filesz:
            segments.append((p_paddr, data[p_offset:p_offset + p_filesz]))
    return segments


def fail(message: str, code: int = 1) -> "NoReturn":  # noqa: F821
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def _quiet_pyocd_logs() -> None:
    import logging

    logging.getLogger("pyocd").setLevel(logging.CRITICAL)


def find_probe(probe: str | None):
    from pyocd.probe.aggregator import DebugProbeAggregator

    probes = DebugProbeAggregator.get_all_connected_probes(unique_id=probe)
    return probes


def verify(target: str, elf: str, probe: str | None, frequency: str | None) -> int:
    """Read every segment back; return the number of bytes compared."""
    from pyocd.core.helpers import ConnectHelper

    options = {"frequency": int(float(frequency))} if frequency else {}
    session = ConnectHelper.session_with_chosen_probe(
        blocking=False, unique_id=probe, target_override=target, connect_mode="halt", options=options)
    if session is None:
        fail("debug probe went away before verification")
    checked = 0
    with session:
        mem = session.target
        for addr, want in elf_load_segments(elf):
            got = bytes(mem.read_memory_block8(addr, len(want)))
            if got != want:
                at = next(i for i in range(len(want)) if got[i] != want[i])
                fail(f"verify failed at {addr + at:#010x}: flash holds {got[at]:#04x}, image has {want[at]:#04x}"
                     " (try --erase chip: board_upload.pyocd_erase = chip)", 5)
            checked += len(want)
        mem.reset()
    return checked


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", required=True, help="pyocd target type, e.g. stm32l432kc")
    ap.add_argument("--erase", default="sector", choices=ERASE_MODES)
    ap.add_argument("--probe", default=None, help="debug probe unique ID (default: the only one connected)")
    ap.add_argument("--frequency", default=None, help="SWD clock in Hz")
    ap.add_argument("--board", default=None, help="board name for messages")
    ap.add_argument("--dry-run", action="store_true", help="print the pyocd command line and exit")
    ap.add_argument("elf")
    args = ap.parse_args(argv)
    load = pyocd_load_argv(args.target, args.elf, args.erase, args.probe, args.frequency)
    if args.dry_run:
        print(" ".join(load))
        return 0
    if not os.path.isfile(args.elf):
        fail(f"firmware image {args.elf} not found: build it with `pio run`")

    board = args.board or args.target
    try:
        import pyocd  # noqa: F401
    except ImportError:
        fail("pyocd is not installed: run `make setup` (pip install -e .)")
    _quiet_pyocd_logs()
    try:
        probes = find_probe(args.probe)
    except Exception as exc:  # USB backend problems (no libusb, permissions)
        fail(f"cannot scan for debug probes ({type(exc).__name__}: {exc})")
    if not probes:
        which = f"with unique ID {args.probe!r} " if args.probe else ""
        fail(f"no debug probe {which}found: connect the {board} board's debugger USB port "
             f"(ST-LINK/J-Link) and retry; `pyocd list` shows the probes pyocd sees", 3)
    if len(probes) > 1 and not args.probe:
        ids = ", ".join(p.unique_id for p in probes)
        fail(f"{len(probes)} debug probes found ({ids}): choose one with upload_port = <unique ID>", 4)

    print(" ".join(load), flush=True)
    proc = subprocess.run(load)
    if proc.returncode != 0:
        fail(f"pyocd load failed (exit {proc.returncode}) for target {args.target}: see its messages above")
    try:
        n = verify(args.target, args.elf, args.probe, args.frequency)
    except SystemExit:
        raise
    except Exception as exc:
        fail(f"verify after programming failed ({type(exc).__name__}: {exc})")
    print(f"verified {n} bytes on {args.target}; {board} reset and running", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
