"""Firmware builds: PlatformIO envs, boards, building and sizing an image."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .errors import TinyEcgError

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_DIR = ROOT / "firmware" / "platform"
DEFAULT_ENV = "mps2_an386"


def pio_environ(**extra: str) -> dict[str, str]:
    """Environment for PlatformIO: no telemetry, no upgrade checks, no network."""
    env = dict(os.environ)
    env.update(PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
               PLATFORMIO_DISABLE_UPGRADE_CHECK="true",
               PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
               PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD="0")
    env.update(extra)
    return env


def envs() -> dict[str, str]:
    """env name -> board id, from platformio.ini."""
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "platformio.ini")
    return {s.split(":", 1)[1]: ini[s]["board"] for s in ini.sections()
            if s.startswith("env:") and "board" in ini[s]}


def board_of(env: str) -> str:
    known = envs()
    if env not in known:
        raise TinyEcgError(f"unknown env '{env}': choose one of {', '.join(sorted(known))}")
    return known[env]


def board_config(env: str) -> dict:
    """The board JSON of an env (firmware/platform/boards/<board>.json)."""
    path = PLATFORM_DIR / "boards" / f"{board_of(env)}.json"
    return json.loads(path.read_text())


def is_qemu(env: str) -> bool:
    return board_config(env).get("upload", {}).get("protocol") == "qemu"


def qemu_machine(env: str) -> str:
    machine = board_config(env)["build"].get("qemu_machine")
    if not machine:
        raise TinyEcgError(f"env '{env}' is a real board, not a QEMU one: give --port")
    return machine


def build_dir(env: str, base: Path | None = None) -> Path:
    return (base or ROOT / ".pio" / "build") / env


def elf_path(env: str, base: Path | None = None) -> Path:
    return build_dir(env, base) / "firmware.elf"


def build(env: str, model_dir: Path | None = None, base: Path | None = None,
          verbose: bool = False, measure_only: bool = False) -> Path:
    """``pio run -e ENV``; returns the ELF. A failed build raises with its last lines.

    measure_only: link the ELF even if it overflows the board's memory (no
    .bin, no size check), to measure it (tinyecg.convert.check_fit)."""
    board_of(env)
    extra = {"TINYECG_MEASURE_ONLY": "1"} if measure_only else {}
    if model_dir is not None:
        extra["TINYECG_MODEL_DIR"] = str(Path(model_dir).resolve())
    if base is not None:
        extra["PLATFORMIO_BUILD_DIR"] = str(Path(base).resolve())
    cmd = [sys.executable, "-m", "platformio", "run", "-e", env, "-d", str(ROOT)]
    proc = subprocess.run(cmd, env=pio_environ(**extra), capture_output=not verbose, text=True)
    if proc.returncode != 0:
        tail = "" if verbose else " | ".join(
            l for l in (proc.stdout + proc.stderr).splitlines()[-40:] if "error" in l.lower())
        raise TinyEcgError(f"firmware build for env '{env}' failed: {tail or 'see pio run output'}")
    elf = elf_path(env, base)
    if not elf.exists():
        raise TinyEcgError(f"build for '{env}' succeeded but {elf} is missing")
    return elf


def section_sizes(elf: Path) -> dict[str, int]:
    """Section name -> size, from ``arm-none-eabi-size -A``."""
    try:
        out = subprocess.run(["arm-none-eabi-size", "-A", "-d", str(elf)], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise TinyEcgError(f"cannot size {elf}: {exc}") from None
    sizes = {}
    for line in out.splitlines():
        m = re.match(r"^(\.\S+)\s+(\d+)\s+(\d+)", line)
        if m:
            sizes[m.group(1)] = int(m.group(2))
    return sizes


_MAP_OUTPUT = re.compile(r"^(\.\S+|/DISCARD/)")
_MAP_INPUT = re.compile(r"^ (\.\S+|COMMON)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.(?:o|a\(\S+\.o\)))\s*$")


def link_map(map_file: Path) -> list[dict]:
    """Input sections placed in the image, from the linker map (``-Wl,-Map``):
    dicts of output section, input section, size and object file
    (``dir/libx.a(member.o)`` for archive members).  Debug sections, which
    the map lists after ``OUTPUT(...)``, and discarded ones are left out."""
    out: list[dict] = []
    in_map, output, pending = False, None, None
    for line in Path(map_file).read_text(errors="replace").splitlines():
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue
        if line.startswith("OUTPUT(") or line.startswith("/DISCARD/"):
            break
        m = _MAP_OUTPUT.match(line)
        if m:
            output, pending = m.group(1), None
            continue
        if re.match(r"^ (\.\S+|COMMON)\s*$", line):   # long input section name: numbers on the next line
            pending = line.split()[0]
            continue
        m = _MAP_INPUT.match(line)
        if m:
            out.append({"output": output, "input": m.group(1) or pending or output,
                        "size": int(m.group(3), 16), "object": m.group(4)})
        pending = None
    return out


def map_sizes(map_file: Path) -> dict[str, int]:
    """Bytes linked from the engine, from the linker map: tinynn code, model.c
    code, model constants (weights, biases, requantization tables), model RAM
    (model.c's static data: the arena)."""
    out = {"engine_code_bytes": 0, "model_code_bytes": 0, "model_const_bytes": 0, "model_ram_bytes": 0}
    if not Path(map_file).exists():
        return out
    for e in link_map(map_file):
        name, size, obj = e["input"], e["size"], e["object"]
        model_c, model_data_c = re.search(r"/model/model\.o$", obj), re.search(r"/model/model_data\.o$", obj)
        if name.startswith(".text"):
            if "tinynn" in obj:
                out["engine_code_bytes"] += size
            elif model_c:
                out["model_code_bytes"] += size
        elif name.startswith(".rodata") and (model_c or model_data_c):
            out["model_const_bytes"] += size
        elif name.startswith((".bss", ".data", "COMMON")) and model_c:
            out["model_ram_bytes"] += size
    return out


def image_size(elf: Path) -> dict[str, int]:
    """flash = vectors + code + rodata + data image; ram = data + bss (stack reserve apart)."""
    s = section_sizes(elf)
    flash = sum(s.get(k, 0) for k in (".isr_vector", ".text", ".rodata", ".ARM.exidx", ".ARM.extab", ".data"))
    ram = s.get(".data", 0) + s.get(".bss", 0)
    return {"flash_bytes": flash, "ram_bytes": ram, "stack_reserve_bytes": s.get(".stack", 0)}
