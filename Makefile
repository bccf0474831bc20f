# tinyecg — the two commands that matter:
#   make demo   end to end on the emulated Cortex-M4F board (QEMU mps2-an386)
#   make test   the test suite (unit, engine parity, firmware builds, fuzz replays, HIL on QEMU)
#   make report the performance and traceability report (build/report/index.html)
#   make fuzz   every libFuzzer target FUZZ_SECONDS seconds (default 60)
# Both run `make setup` first (idempotent: apt packages, .venv, offline PlatformIO).

SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIO   := $(VENV)/bin/pio
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm chromium \
                clang libclang-rt-14-dev llvm

export PLATFORMIO_SETTING_ENABLE_TELEMETRY := No
export PLATFORMIO_DISABLE_UPGRADE_CHECK := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup demo test test-fast build data fuzz clean report

setup: .setup.stamp

# Re-run when the dependency pins change.
.setup.stamp: pyproject.toml tools/setup.sh
	bash tools/setup.sh
	touch $@

build: setup
	$(PIO) run -e mps2_an386 -e mps2_an500 -e mps2_an385

demo: setup
	$(PY) tools/demo.py

# The whole suite on the default board, then the HIL suite again on the
# emulated STM32F405 (netduinoplus2), which runs the NUCLEO boards' USART driver.
# Each run leaves its JUnit XML in build/test-results/ (the report's traceability section reads it).
test: setup
	rm -rf build/test-results
	$(PY) -m pytest tests --junitxml=build/test-results/tests.xml
	$(PY) -m pytest tests/hil --env netduinoplus2 --junitxml=build/test-results/hil-netduinoplus2.xml

# The performance and traceability report (EC57 through the device, SOUP, traceability): build/report/index.html
report: setup
	$(PY) tools/report.py --out build/report

# The device's C under libFuzzer + ASan + UBSan on the host (docs/hardening.md)
FUZZ_SECONDS ?= 60
fuzz: setup
	$(PY) tools/fuzz.py --seconds $(FUZZ_SECONDS)

# MIT-BIH from PhysioNet into $TINYECG_DATA or ../shared/data/mitdb (verifies SHA256SUMS)
data: setup
	$(PY) tools/fetch_data.py

clean:
	rm -rf .pio build .setup.stamp
