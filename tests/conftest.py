"""Shared pytest options and fixtures for the whole suite.

HIL options (``--port``, ``--baud``, ``--env``) live here so that any test
folder can use a device; the ``dut`` fixture itself is in tests/hil.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    group = parser.getgroup("tinyecg hardware-in-the-loop")
    group.addoption("--port", default=None,
                    help="serial port or pyserial URL of a flashed board (default: boot QEMU)")
    group.addoption("--baud", type=int, default=115200, help="baud rate for --port")
    group.addoption("--env", default="mps2_an386", help="PlatformIO env of the device under test")


@pytest.fixture(scope="session", autouse=True)
def _junit_identity(request, record_testsuite_property):
    """What the JUnit XML verified (make test writes it to build/test-results/; the
    report's traceability section says when results are of another commit)."""
    from tinyecg.regreport.identify import git_state
    g = git_state(ROOT)
    record_testsuite_property("git_commit", g.get("commit") or "unknown")
    record_testsuite_property("git_dirty", str(g.get("dirty")))
    record_testsuite_property("env", request.config.getoption("--env"))
    record_testsuite_property("port", request.config.getoption("--port") or "qemu")


@pytest.fixture(scope="session", autouse=True)
def _pio_quiet():
    os.environ.setdefault("PLATFORMIO_SETTING_ENABLE_TELEMETRY", "No")
    os.environ.setdefault("PLATFORMIO_DISABLE_UPGRADE_CHECK", "true")
