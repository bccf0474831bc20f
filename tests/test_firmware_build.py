"""Firmware builds: every env builds offline, images are sane, fit the board,
and two builds of the same inputs are byte-identical."""

import re
import shutil
import struct
import subprocess
import sys

import pytest

from tinyecg import firmware

# Subprocess hang guard, not a speed bound: shared CI machines vary by 20 % or
# more under load, so it is set far above any normal run.
HANG_GUARD_S = 1800

ENVS = sorted(firmware.envs())


def symbols(elf):
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], check=True, capture_output=True, text=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (l.split() for l in out.splitlines()) if len(parts) == 3}


def vector_words(elf, tmp_path, n=2):
    out = tmp_path / "vectors.bin"
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "--only-section=.isr_vector",
                    str(elf), str(out)], check=True)
    return struct.unpack(f"<{n}I", out.read_bytes()[:4 * n])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("pio-build")
    return {env: firmware.build(env, base=base) for env in ENVS}


@pytest.mark.parametrize("env", ENVS)
def test_image_is_sane_and_fits(built, env, tmp_path):
    elf = built[env]
    sp, reset = vector_words(elf, tmp_path)
    syms = symbols(elf)
    assert sp == syms["__stack_top__"] and sp % 8 == 0
    assert reset & 1, "reset vector must be a Thumb address"
    assert reset & ~1 == syms["Reset_Handler"]
    size = firmware.image_size(elf)
    upload = firmware.board_config(env)["upload"]
    assert 0 < size["flash_bytes"] <= upload["maximum_size"]
    assert size["ram_bytes"] + size["stack_reserve_bytes"] <= upload["maximum_ram_size"]


_MEMORY = re.compile(r"^\s*(FLASH|RAM)\s*\([a-z]+\)\s*:\s*ORIGIN\s*=\s*0x[0-9A-Fa-f]+\s*,\s*LENGTH\s*=\s*(\d+)([KM]?)",
                     re.M)


@pytest.mark.parametrize("env", ENVS)
def test_board_limits_are_the_linker_scripts(env):
    """The board JSON's limits (what `pio run` and convert's fit check compare
    against) are the memory the linker script gives the image. On the MPS2
    boards that is the 4 MB SSRAM1 (code) and 4 MB SSRAM2/3 (data) that QEMU
    models for AN385, AN386 and AN500: room for the zoo's largest arena and
    input many times over."""
    board = firmware.board_config(env)
    script = (firmware.ROOT / "firmware" / "boards" / board["build"]["family"] / board["build"]["ldscript"]).read_text()
    length = {name: int(n) * {"": 1, "K": 1024, "M": 1 << 20}[unit] for name, n, unit in _MEMORY.findall(script)}
    assert length == {"FLASH": board["upload"]["maximum_size"], "RAM": board["upload"]["maximum_ram_size"]}


def test_build_is_reproducible(built, tmp_path):
    env = firmware.DEFAULT_ENV
    again = firmware.build(env, base=tmp_path / "again")
    assert again.read_bytes() == built[env].read_bytes()
    assert again.with_suffix(".bin").read_bytes() == built[env].with_suffix(".bin").read_bytes()


def test_build_needs_no_network(tmp_path):
    """`pio run` in a fresh network namespace (no interface up, CI runs as root): must still build."""
    env = dict(firmware.pio_environ(), PLATFORMIO_BUILD_DIR=str(tmp_path))
    proc = subprocess.run(["unshare", "-n", sys.executable, "-m", "platformio", "run", "-e", firmware.DEFAULT_ENV, "-d", str(firmware.ROOT)],
                          env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (tmp_path / firmware.DEFAULT_ENV / "firmware.elf").exists()


def test_build_is_reproducible_across_checkouts(tmp_path):
    """The same sources built in two checkouts at different paths: identical bytes."""
    images = []
    for where in (tmp_path / "a", tmp_path / "some" / "much" / "longer" / "checkout" / "b"):
        shutil.copytree(firmware.ROOT / "firmware", where / "firmware")
        shutil.copy(firmware.ROOT / "platformio.ini", where / "platformio.ini")
        proc = subprocess.run([sys.executable, "-m", "platformio", "run", "-e", firmware.DEFAULT_ENV,
                               "-d", str(where)], env=firmware.pio_environ(), capture_output=True, text=True,
                              timeout=HANG_GUARD_S)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        # each checkout built with its own platform, not another checkout's
        link = (where / ".pio" / "platforms" / "platform.pio-link").read_text()
        assert f'"cwd": "{where}"' in link
        images.append(where / ".pio" / "build" / firmware.DEFAULT_ENV / "firmware.elf")
    assert images[0].read_bytes() == images[1].read_bytes()
    assert images[0].with_suffix(".bin").read_bytes() == images[1].with_suffix(".bin").read_bytes()
