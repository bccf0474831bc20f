"""MAX_POOL_2D and AVERAGE_POOL_2D (tnn_pool_params; TFLM pools without
rescaling, so input and output share their quantization)."""

from __future__ import annotations

from ..tflite_import import Op
from .base import Context, Layer
from .quant import activation_range, out_size, pad_before


def _pool(cx: Context, op: Op, name: str, kernel: str) -> Layer:
    o = op.options
    x, y = cx.data_in(op), cx.out(op)
    cx.need_rank(op, x, 4, "input")
    cx.need_rank(op, y, 4, "output")
    if x.qparams() != y.qparams():
        raise cx.fail(op, "input and output quantization differ (TFLM pools without rescaling)")
    n, ih, iw, c = x.shape
    fh, fw, sh, sw = o["filter_h"], o["filter_w"], o["stride_h"], o["stride_w"]
    oh, ow = out_size(o["padding"], ih, fh, sh), out_size(o["padding"], iw, fw, sw)
    if tuple(y.shape) != (n, oh, ow, c):
        raise cx.fail(op, f"output shape {list(y.shape)} does not match the computed {[n, oh, ow, c]}")
    if oh <= 0 or ow <= 0:
        raise cx.fail(op, "empty output")
    pad_t = pad_before(ih, fh, sh, 1, oh) if o["padding"] == "SAME" else 0
    pad_l = pad_before(iw, fw, sw, 1, ow) if o["padding"] == "SAME" else 0
    lo, hi = activation_range(o["activation"], y)
    layer = Layer(op=op, name=name, kernel=kernel, ptype="tnn_pool_params")
    cx.header(op, layer, f"{fh}x{fw} {o['padding']} stride {sh}x{sw} {o['activation']}")
    layer.fields = [
        ("input", f"{{{n}, {ih}, {iw}, {c}}}"),
        ("output", f"{{{n}, {oh}, {ow}, {c}}}"),
        ("filter_h", fh), ("filter_w", fw), ("stride_h", sh), ("stride_w", sw),
        ("pad_top", pad_t), ("pad_left", pad_l), ("act_min", lo), ("act_max", hi),
    ]
    layer.args = ["IN0", "OUT0"]
    return layer


def lower_max_pool_2d(cx: Context, op: Op, name: str) -> Layer:
    return _pool(cx, op, name, "tnn_max_pool_s8")


def lower_average_pool_2d(cx: Context, op: Op, name: str) -> Layer:
    return _pool(cx, op, name, "tnn_avg_pool_s8")
