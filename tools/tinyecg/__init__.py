"""tinyecg: MIT-BIH ECG beat classifier from training to a Cortex-M board.

One module per stage (see README "Layout"): data, preprocess, train, quantize,
codegen, protocol, device, qemu, firmware, evaluate, report.
"""

__version__ = "0.1.0"
