"""`pio run -e <board> -t upload` for the real boards, checked without a probe:
the pyocd target names exist in pyocd and describe the MCU the board JSON and
linker script describe, the `pyocd load` command line is one pyocd accepts,
and with no probe attached the upload fails with one clear line."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from tinyecg import firmware

# Subprocess hang guard, not a speed bound: shared CI machines vary by 20 % or
# more under load, so it is set far above any normal run.
HANG_GUARD_S = 1800

BUILDER = firmware.ROOT / "firmware" / "platform" / "builder" / "pyocd_upload.py"

# env -> pyocd's built-in target type (`pyocd list --targets`)
TARGETS = {
    "nucleo_l432kc": "stm32l432kc",
    "nucleo_f429zi": "stm32f429xi",
    "nucleo_f767zi": "stm32f767zi",
    "nrf52840_dk": "nrf52840",
}


def load_helper():
    spec = importlib.util.spec_from_file_location("pyocd_upload", BUILDER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pyocd_envs():
    return sorted(e for e in firmware.envs()
                  if firmware.board_config(e)["upload"].get("protocol") == "pyocd")


def test_every_real_board_uploads_through_pyocd():
    assert pyocd_envs() == sorted(TARGETS)
    for env in firmware.envs():
        assert firmware.board_config(env)["upload"]["protocol"] in ("qemu", "pyocd"), env


@pytest.mark.parametrize("env", sorted(TARGETS))
def test_pyocd_target_matches_board_and_linker_script(env):
    from pyocd.target import TARGET

    cfg = firmware.board_config(env)
    target = cfg["upload"]["pyocd_target"]
    assert target == TARGETS[env]
    assert target in TARGET, f"pyocd has no built-in target {target}"
    regions = list(TARGET[target].MEMORY_MAP)
    flash = [r for r in regions if r.type.name == "FLASH" and r.start < 0x10000000]
    ram = [r for r in regions if r.type.name == "RAM"]
    boot = next(r for r in flash if r.is_boot_memory)
    flash_size = sum(r.length for r in flash)
    assert flash_size == cfg["upload"]["maximum_size"]
    assert sum(r.length for r in ram) == cfg["upload"]["maximum_ram_size"]

    ld = (firmware.ROOT / "firmware" / "boards" / cfg["build"]["family"] / cfg["build"]["ldscript"]).read_text()
    mem = {m.group(1): (int(m.group(2), 16), int(m.group(3)) * 1024)
           for m in re.finditer(r"(\w+)\s*\([rwx]+\)\s*:\s*ORIGIN\s*=\s*(0x[0-9A-Fa-f]+),\s*LENGTH\s*=\s*(\d+)K", ld)}
    assert mem["FLASH"] == (boot.start, flash_size)
    assert mem["RAM"][1] == cfg["upload"]["maximum_ram_size"]
    assert any(r.start == mem["RAM"][0] for r in ram)


def test_pyocd_load_command_line_is_what_pyocd_expects():
    import pyocd.__main__

    helper = load_helper()
    argv = helper.pyocd_load_argv("stm32l432kc", "fw.elf", erase="sector", probe="0668FF", python="py")
    assert argv == ["py", "-m", "pyocd", "load", "--no-wait", "--target", "stm32l432kc", "--erase", "sector",
                    "--format", "elf", "--no-reset", "--uid", "0668FF", "fw.elf"]
    args = pyocd.__main__.PyOCDTool().build_parser().parse_args(argv[3:])
    assert (args.cmd, args.target_override, args.erase, args.format) == ("load", "stm32l432kc", "sector", "elf")
    assert args.no_wait and args.no_reset and args.unique_id == "0668FF" and args.file == ["fw.elf"]
    with pytest.raises(ValueError):
        helper.pyocd_load_argv("stm32l432kc", "fw.elf", erase="everything")


def test_elf_segments_are_what_goes_to_flash(tmp_path):
    helper = load_helper()
    elf = firmware.build("nucleo_l432kc", base=tmp_path)
    segments = helper.elf_load_segments(str(elf))
    image = elf.with_suffix(".bin").read_bytes()
    assert segments[0][0] == 0x08000000
    joined = b"".join(data for _, data in segments)
    assert joined == image  # objcopy's .bin is the same bytes, contiguous from the vector table


def test_upload_without_probe_fails_with_one_line(tmp_path):
    env = dict(firmware.pio_environ(), PLATFORMIO_BUILD_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "platformio", "run", "-e", "nucleo_l432kc", "-t", "upload", "-v",
                           "-d", str(firmware.ROOT)], env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Traceback" not in out
    # the builder ran our helper with the board's target and erase mode
    assert re.search(r"pyocd_upload\.py\" --target stm32l432kc --erase sector --board nucleo_l432kc \S*firmware\.elf", out), out[-2000:]
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, out[-2000:]
    assert "no debug probe" in errors[0] and "nucleo_l432kc" in errors[0]


def test_helper_dry_run_prints_the_command(tmp_path):
    proc = subprocess.run([sys.executable, str(BUILDER), "--target", "nrf52840", "--erase", "chip", "--dry-run",
                           "x.elf"], capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0
    assert proc.stdout.split()[1:] == ["-m", "pyocd", "load", "--no-wait", "--target", "nrf52840", "--erase", "chip",
                                       "--format", "elf", "--no-reset", "x.elf"]
