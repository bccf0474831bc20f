"""SOFTMAX over the last axis (TFLM int8: output scale 1/256, zero point -128)."""

from __future__ import annotations

from ..tflite_import import Op
from .base import Context, Layer
from .quant import SOFTMAX_INPUT_INTEGER_BITS, f64, softmax_scaling


def lower_softmax(cx: Context, op: Op, name: str) -> Layer:
    x, y = cx.data_in(op), cx.out(op)
    s_in, _ = x.qparams()
    s_out, zp_out = y.qparams()
    if zp_out != -128 or abs(float(s_out) - 1.0 / 256) > 0.001 * (1.0 / 256):
        raise cx.fail(op, f"output quantization must be scale 1/256 zero point -128 (TFLM), got {s_out} {zp_out}")
    if x.shape != y.shape:
        raise cx.fail(op, "input and output shapes differ")
    depth = x.shape[-1] if x.shape else 1
    beta = op.options.get("beta", 1.0)
    if not float(beta) * f64(s_in) * float(1 << (31 - SOFTMAX_INPUT_INTEGER_BITS)) < float(1 << 30):
        # TFLM's left shift would reach 31 and diff << 31 overflow (beta x scale >= 16)
        raise cx.fail(op, f"input scale {s_in} x beta {beta} is too large for TFLM's softmax")
    real, mult, left_shift, diff_min = softmax_scaling(beta, s_in)
    if not real > 1.0:
        raise cx.fail(op, f"input scale {s_in} x beta {beta} is too small for TFLM's softmax")
    layer = Layer(op=op, name=name, kernel="tnn_softmax_s8", ptype="tnn_softmax_params")
    cx.header(op, layer, f"beta {beta:g} over the last axis")
    layer.fields = [
        ("outer", x.size // depth), ("depth", depth),
        ("input_multiplier", mult), ("input_left_shift", left_shift), ("diff_min", diff_min),
    ]
    layer.args = ["IN0", "OUT0"]
    return layer
