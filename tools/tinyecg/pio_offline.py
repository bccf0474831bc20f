"""Register an offline ``tool-scons`` package in the PlatformIO core dir.

Why: ``pio run`` needs the core package ``tool-scons``; without it PlatformIO
asks its registry (unreachable here) and fails after a minute.  We point the
core at the SCons that pip installed into this venv instead.  PlatformIO finds
core packages by owner, which it reads from ``.piopm`` (``package.json`` alone
is not enough), and the version must satisfy the core's own requirement.

Usage: ``python -m tinyecg.pio_offline`` (idempotent; ``make setup`` runs it).
"""

import json
import os
import sys
from pathlib import Path

from .errors import TinyEcgError

SCONS_SHIM = '''\
"""tool-scons shim written by tinyecg: runs the SCons pip installed in this venv."""
import sys

from SCons.Script.Main import main

if __name__ == "__main__":
    sys.exit(main())
'''


def core_dir() -> Path:
    """The PlatformIO core dir in force: $PLATFORMIO_CORE_DIR or ~/.platformio."""
    return Path(os.environ.get("PLATFORMIO_CORE_DIR") or Path.home() / ".platformio")


def scons_package_version() -> str:
    """PlatformIO's packaging of SCons X.Y.Z is 4.(X*10000+Y*100+Z)... e.g. 4.41101.0 for 4.11.1."""
    import SCons

    major, minor, patch = (int(p) for p in SCons.__version__.split(".")[:3])
    return f"4.{major}{minor:02d}{patch:02d}.0"


def install_tool_scons(root: Path | None = None) -> Path:
    from platformio.dependencies import get_core_dependencies
    from semantic_version import SimpleSpec, Version

    version = scons_package_version()
    wanted = get_core_dependencies()["tool-scons"]
    if not SimpleSpec(wanted).match(Version(version)):
        raise TinyEcgError(
            f"pip SCons gives tool-scons {version} but PlatformIO wants {wanted}: "
            "fix the scons pin in pyproject.toml"
        )
    pkg = (root or core_dir()) / "packages" / "tool-scons"
    pkg.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": "tool-scons",
        "version": version,
        "description": "SCons from this venv (offline shim written by tinyecg)",
    }
    meta = {
        "type": "tool",
        "name": "tool-scons",
        "version": version,
        "spec": {"owner": "platformio", "id": None, "name": "tool-scons",
                 "requirements": wanted, "uri": None},
    }
    (pkg / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (pkg / ".piopm").write_text(json.dumps(meta) + "\n")
    (pkg / "scons.py").write_text(SCONS_SHIM)
    return pkg


def main() -> int:
    pkg = install_tool_scons()
    print(f"tool-scons {scons_package_version()} (pip SCons) registered at {pkg}")
    return 0


if __name__ == "__main__":
    from .cli import run_main

    run_main(main)
