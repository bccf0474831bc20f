"""Fuzzing of everything that reads untrusted bytes (docs/hardening.md).

* :mod:`.libfuzzer` -- the device's C compiled for the host with clang's
  libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer: frame reader,
  command dispatcher, stream state machine, DATA8 decoder, signal chain
  (targets in tests/fuzz, ``make fuzz``).
* :mod:`.device` -- structure-aware hostile frames sent to the firmware
  running in QEMU (``tools/fuzz_device.py``).
* :mod:`.converter` -- mutated ``.tflite`` files through the converter, the
  accepted ones compared with ``tflite_micro`` bit for bit
  (``tools/fuzz_convert.py``).
"""
