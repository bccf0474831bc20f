"""Hardware-in-the-loop fixtures, in the manner of pytest-embedded.

``dut`` is a connected :class:`tinyecg.device.Device`:

* ``pytest tests/hil --port /dev/ttyACM0 --env nucleo_l432kc``: a real board,
  already flashed with ``pio run -e <env> -t upload``;
* ``pytest tests/hil [--env mps2_an500]``: the env is built with ``pio run``
  and booted in QEMU (``-icount shift=0``), its UART on a local socket.
"""

from __future__ import annotations

import pytest

from tinyecg import firmware, qemu
from tinyecg.device import Device

_built: dict[str, object] = {}


def build_once(env: str):
    """Build an env at most once per test session."""
    if env not in _built:
        _built[env] = firmware.build(env)
    return _built[env]


class Dut:
    """The device under test: protocol client plus how it was reached."""

    def __init__(self, device: Device, env: str, board: qemu.QemuBoard | None):
        self.device, self.env, self.board = device, env, board

    @property
    def is_qemu(self) -> bool:
        return self.board is not None

    def __getattr__(self, name):  # dut.ping(), dut.request(), ... go to the Device
        return getattr(self.device, name)


def open_dut(config, env: str | None = None):
    env = env or config.getoption("--env")
    port = config.getoption("--port")
    if port:
        device = Device(port, baud=config.getoption("--baud"))
        device.sync()
        return Dut(device, env, None)
    elf = build_once(env)
    board = qemu.boot(env, elf)
    device = board.start()
    return Dut(device, env, board)


def close_dut(dut: Dut) -> None:
    if dut.board is not None:
        dut.board.close()
    else:
        dut.device.close()


@pytest.fixture(scope="module")
def dut(request):
    """The board under test (QEMU unless --port), shared by a test module."""
    d = open_dut(request.config)
    yield d
    close_dut(d)


@pytest.fixture
def qemu_only(request):
    if request.config.getoption("--port"):
        pytest.skip("needs the emulated board (QEMU-only test)")
