"""Section 1, identification: what exactly was built, run and reported.

The repository state (git commit, dirty or not), the env and board, the
firmware image (build id the device reports, SHA-256 of the image files),
the model (id, SHA-256 of the ``.tflite`` and ``.keras``) and the versions
of every tool that shaped a figure.  Versions are asked of the tools
themselves (``--version``, ``dpkg-query``, the installed distributions'
metadata), never typed in.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as md
import platform
import re
import subprocess
from pathlib import Path

from .. import firmware
from ..errors import TinyEcgError
from .evidence import Evidence

ROOT = firmware.ROOT
MODEL_DIR = ROOT / "models" / "arrhythmia"
FIRMWARE_MODEL_DIR = ROOT / "firmware" / "model"

#: Python distributions whose version the identification names (the rest are in the SOUP list).
PYTHON_DISTRIBUTIONS = ("tinyecg", "tensorflow", "tflite-micro", "platformio", "wfdb", "numpy")
#: Debian packages that provide the device toolchain and the emulator.
DEBIAN_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm", "chromium")


def _out(cmd: list[str], cwd: Path | None = None) -> str | None:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def git_state(root: Path = ROOT) -> dict:
    """Commit, branch and whether the working tree differs from it."""
    commit = _out(["git", "rev-parse", "HEAD"], root)
    if commit is None:
        return {"commit": None, "dirty": None, "note": "not a git checkout: the source revision is unknown"}
    status = _out(["git", "status", "--porcelain=v1", "--untracked-files=all"], root) or ""
    lines = [l for l in status.splitlines() if l.strip()]
    changed = [l[3:] for l in lines if not l.startswith("??")]
    untracked = [l[3:] for l in lines if l.startswith("??")]
    return {"commit": commit, "branch": _out(["git", "rev-parse", "--abbrev-ref", "HEAD"], root),
            "commit_date": _out(["git", "show", "-s", "--format=%cI", "HEAD"], root),
            "dirty": bool(changed or untracked), "changed_files": changed, "untracked_files": untracked}


def debian_version(package: str) -> str | None:
    return _out(["dpkg-query", "-W", "-f=${Version}", package])


def newlib_version() -> str | None:
    """newlib's own version, from the header the toolchain compiles against."""
    for hdr in (Path("/usr/lib/arm-none-eabi/include/_newlib_version.h"),
                Path("/usr/include/newlib/_newlib_version.h")):
        if hdr.is_file():
            m = re.search(r'#define\s+_NEWLIB_VERSION\s+"([^"]+)"', hdr.read_text())
            if m:
                return m.group(1)
    return None


def _first_line(text: str | None) -> str | None:
    return text.splitlines()[0].strip() if text else None


def tool_versions() -> dict[str, dict]:
    """name -> {version, source}: how each was learnt is part of the answer."""
    out: dict[str, dict] = {}

    def put(name, version, source):
        out[name] = {"version": version or "not found", "source": source}

    gcc = _first_line(_out(["arm-none-eabi-gcc", "--version"]))
    put("arm-none-eabi-gcc", gcc, "arm-none-eabi-gcc --version")
    put("newlib", newlib_version(), "_NEWLIB_VERSION in the toolchain's _newlib_version.h")
    put("qemu-system-arm", _first_line(_out(["qemu-system-arm", "--version"])), "qemu-system-arm --version")
    for pkg in DEBIAN_PACKAGES:
        put(f"debian:{pkg}", debian_version(pkg), f"dpkg-query -W {pkg}")
    put("python", platform.python_version(), "platform.python_version()")
    for dist in PYTHON_DISTRIBUTIONS:
        try:
            v = md.version(dist)
        except md.PackageNotFoundError:
            v = None
        put(dist, v, f"importlib.metadata.version('{dist}')")
    return out


def model_identity(ev: Evidence, tflite: Path, keras: Path | None, fw_model_dir: Path = FIRMWARE_MODEL_DIR) -> dict:
    """Model id and file hashes; refuses when the firmware was generated from another model."""
    tflite = Path(tflite)
    if not tflite.is_file():
        raise TinyEcgError(f"model {tflite} not found")
    sha = ev.note_file(tflite, "the int8 model the device runs")
    out = {"tflite": {"path": str(tflite.name), "sha256": sha, "model_id": sha[:16], "bytes": tflite.stat().st_size}}
    if keras is not None and Path(keras).is_file():
        ksha = ev.note_file(keras, "the float model the int8 model was converted from")
        out["keras"] = {"path": Path(keras).name, "sha256": ksha, "bytes": Path(keras).stat().st_size}
    else:
        out["keras"] = {"path": None, "sha256": None, "note": "no .keras file beside the model"}
    cfg = Path(fw_model_dir) / "model_config.h"
    if cfg.is_file():
        text = ev.read_text(cfg, "generated model configuration compiled into the firmware")
        m = re.search(r'#define MODEL_ID "(\w+)"', text)
        fw_id = m.group(1) if m else None
        out["firmware_model_id"] = fw_id
        if fw_id != out["tflite"]["model_id"]:
            raise TinyEcgError(f"firmware/model was generated from model {fw_id}, but {tflite.name} is "
                               f"{out['tflite']['model_id']}: regenerate it (tools/convert.py, tinyecg.calibrate) "
                               "so that the report describes the model the device runs")
        for f in sorted(Path(fw_model_dir).glob("*.[ch]")):
            ev.note_file(f, "generated model C compiled into the firmware")
    return out


def image_identity(ev: Evidence, env: str, elf: Path) -> dict:
    """SHA-256 of the built image files of an env (ELF and the flashed binary)."""
    out = {}
    for f in (elf, elf.with_name("firmware.bin")):
        if f.is_file():
            out[f.name] = ev.note_file(f, f"firmware image built for {env} in this invocation")
    return out


def board_identity(env: str, port: str | None, info: dict) -> dict:
    """The env's board as configured, and what the device said about itself (INFO)."""
    cfg = firmware.board_config(env)
    b = cfg.get("build", {})
    return {"env": env, "board": firmware.board_of(env), "board_name": cfg.get("name"), "vendor": cfg.get("vendor"),
            "cpu": b.get("cpu"), "clock_hz": int(str(b.get("f_cpu", "0")).rstrip("L") or 0),
            "counter": b.get("counter"), "runs_on": f"serial port {port}" if port else
            f"QEMU {b.get('qemu_machine')} (-icount shift=0)", "device_info": info}


def now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
