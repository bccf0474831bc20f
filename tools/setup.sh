#!/usr/bin/env bash
# Install everything tinyecg needs on a fresh Debian 12 machine; idempotent.
# Reaches only Debian's package archive and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the headless browser the tests render the report with (tests/test_regreport.py)
# clang + libclang-rt (libFuzzer, sanitizers) and llvm (llvm-cov): tests/fuzz, make fuzz
APT_PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm chromium
              clang libclang-rt-14-dev llvm)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
echo "setup: pip install -e . (pinned dependencies, see pyproject.toml)"
.venv/bin/python -m pip install -q --disable-pip-version-check -e . 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import tensorflow, tflite_micro, platformio, SCons, wfdb" \
    || { echo "setup: error: Python dependencies did not install"; exit 1; }

# PlatformIO: telemetry and upgrade checks off, and an offline tool-scons.
export PLATFORMIO_SETTING_ENABLE_TELEMETRY=No PLATFORMIO_DISABLE_UPGRADE_CHECK=true
.venv/bin/pio settings set enable_telemetry No >/dev/null
.venv/bin/pio settings set check_platformio_interval 3650 >/dev/null
.venv/bin/python -m tinyecg.pio_offline
echo "setup: done"
