"""Boot firmware in ``qemu-system-arm`` with its UART on a local TCP socket.

``-icount shift=0`` makes one guest instruction one nanosecond of virtual
time, so the firmware's SysTick counter counts instructions, identically run
to run.  ``wait=on`` makes QEMU wait for our connection before the guest runs,
so no byte of the boot frame is lost.  The process is always reaped: on
close, on garbage collection and at interpreter exit.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import time
import weakref
from pathlib import Path

from . import firmware
from .device import Device
from .errors import TinyEcgError
from .protocol import Msg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reap(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class QemuBoard:
    """A firmware image running in QEMU; ``.device`` is the protocol client."""

    def __init__(self, elf: Path, machine: str, icount: bool = True, extra_args: tuple = ()):
        if shutil.which("qemu-system-arm") is None:
            raise TinyEcgError("qemu-system-arm not found: run `make setup` (apt package qemu-system-arm)")
        if not Path(elf).exists():
            raise TinyEcgError(f"firmware image {elf} not found: build it with `pio run`")
        self.elf, self.machine = Path(elf), machine
        self.icount, self.extra_args = icount, tuple(extra_args)
        self.proc: subprocess.Popen | None = None
        self.device: Device | None = None
        self.boot_seconds: float | None = None

    def command(self, port: int) -> list[str]:
        cmd = ["qemu-system-arm", "-M", self.machine, "-display", "none", "-monitor", "none",
               "-chardev", f"socket,id=uart0,host=127.0.0.1,port={port},server=on,wait=on",
               "-serial", "chardev:uart0",
               "-semihosting-config", "enable=on,target=native",
               "-kernel", str(self.elf)]
        if self.icount:
            cmd += ["-icount", "shift=0"]
        return cmd + list(self.extra_args)

    def start(self, timeout: float = 30.0) -> Device:
        for attempt in range(3):  # a port taken between probe and bind: pick another
            port = _free_port()
            self.proc = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self._finalizer = weakref.finalize(self, _reap, self.proc)
            atexit.register(_reap, self.proc)
            t0 = time.monotonic()
            url = f"socket://127.0.0.1:{port}"
            while time.monotonic() - t0 < timeout and self.proc.poll() is None:
                # Our first connection is the UART: QEMU holds the guest until it comes.
                try:
                    self.device = Device(url, timeout=timeout)
                    break
                except TinyEcgError:
                    time.sleep(0.01)
            if self.device is None:
                if self.proc.poll() is None:
                    _reap(self.proc)
                    raise TinyEcgError(f"QEMU {self.machine} did not open its UART socket in {timeout:.0f} s")
                err = self.proc.stderr.read().decode(errors="replace").strip()
                if "Address already in use" in err and attempt < 2:
                    continue
                raise TinyEcgError(f"QEMU {self.machine} exited: {err.splitlines()[-1] if err else 'no message'}")
            self.port = port
            # QEMU's STM32 USART model drops bytes that arrive before the firmware
            # has enabled it: hand the device out only once it has said BOOT,
            # keeping that frame for callers that wait for it.
            self.device.unsolicited.append(self.device.wait_for(Msg.BOOT, timeout=timeout))
            self.boot_seconds = time.monotonic() - t0
            return self.device
        raise TinyEcgError("could not start QEMU on a free port")

    def close(self) -> None:
        if self.device is not None:
            self.device.close()
            self.device = None
        if self.proc is not None:
            _reap(self.proc)
            if self.proc.stderr:
                self.proc.stderr.close()

    def __enter__(self) -> Device:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def boot(env: str, elf: Path | None = None, **kwargs) -> QemuBoard:
    """A QemuBoard for an env's built image (not started)."""
    return QemuBoard(elf or firmware.elf_path(env), firmware.qemu_machine(env), **kwargs)
