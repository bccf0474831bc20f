"""CONV_2D: 1 x k kernels (and FULLY_CONNECTED, via fully_connected.py) to
tnn_conv1d_s8 when the TNN_F_FAST bound holds, everything else to the
general tnn_conv_s8."""

from __future__ import annotations

import numpy as np

from ..tflite_import import Op
from .base import CArray, Context, Layer
from .layout import I16, chan_table, fast_ok, pair_layout, requant_stats
from .quant import activation_range, channel_multipliers, wrap_i32


def conv1d_layer(op: Op, name: str, rows, in_w, in_c, out_w, out_c, k, stride, pad,
                 zp_in, zp_out, lo, hi, w2d, folded, mult, shift) -> Layer:
    """A tnn_conv1d_s8 call (1 x k convolution or fully connected)."""
    layer = Layer(op=op, name=name, kernel="tnn_conv1d_s8", ptype="tnn_conv1d_params")
    chan, fmt = chan_table(f"{name}_chan", folded, mult, shift, "bias - zp_in * sum(filter)")
    layer.data_arrays = [
        CArray(f"{name}_filter", "int8_t", pair_layout(w2d),
               f"filter [{out_c}][{k}x{in_c}], channel pairs interleaved in groups of 4 taps"),
        chan,
    ]
    layer.fields = [
        ("rows", rows), ("in_w", in_w), ("in_c", in_c), ("out_w", out_w), ("out_c", out_c),
        ("kernel", k), ("stride", stride), ("pad", pad), ("pool", 1),
        ("input_zero_point", zp_in), ("output_zero_point", zp_out),
        ("act_min", lo), ("act_max", hi),
        ("flags", "TNN_F_FAST"),
        ("chan", fmt),
    ]
    layer.args = ["IN0", f"{name}_filter", f"{name}_chan", "OUT0", "MEAN"]
    layer.fusable = True
    return layer


def conv_generic(op: Op, name: str, ins, outs, kh, kw, sh, sw, dh, dw, pad_t, pad_l,
                 zp_in, zp_out, lo, hi, w2d, folded, mult, shift, desc) -> Layer:
    """A tnn_conv_s8 call: any kernel, stride, dilation; reference requantization."""
    layer = Layer(op=op, name=name, kernel="tnn_conv_s8", ptype="tnn_conv_params")
    chan, fmt = chan_table(f"{name}_chan", folded, mult, shift, "bias - zp_in * sum(filter)")
    layer.data_arrays = [CArray(f"{name}_filter", "int8_t", w2d, desc), chan]
    layer.fields = [
        ("input", "{" + ", ".join(map(str, ins)) + "}"),
        ("output", "{" + ", ".join(map(str, outs)) + "}"),
        ("kernel_h", kh), ("kernel_w", kw), ("stride_h", sh), ("stride_w", sw),
        ("dilation_h", dh), ("dilation_w", dw), ("pad_top", pad_t), ("pad_left", pad_l),
        ("input_zero_point", zp_in), ("output_zero_point", zp_out),
        ("act_min", lo), ("act_max", hi), ("chan", fmt),
    ]
    layer.args = ["IN0", f"{name}_filter", f"{name}_chan", "OUT0"]
    return layer


def lower_conv_2d(cx: Context, op: Op, name: str) -> Layer:
    o = op.options
    x, w, y = cx.conv_operands(op)
    n, ih, iw, ic = x.shape
    oc, kh, kw, fic = w.shape
    if fic != ic:
        raise cx.fail(op, f"grouped convolution (input has {ic} channels, filter {fic}) is not supported")
    oh, ow, pad_t, pad_l = cx.conv_geometry(op, o, x, y, kh, kw, oc)
    s_in, zp_in = x.qparams()
    s_out, zp_out = y.qparams()
    fscales = cx.weights(op, w, 0, oc)
    mult, shift = channel_multipliers(s_in, fscales, s_out)
    bias = cx.bias(op, 2, oc)
    w2d = w.data.reshape(oc, -1).astype(np.int64)
    folded = wrap_i32(bias - zp_in * w2d.sum(axis=1))
    lo, hi = activation_range(o["activation"], y)
    one_d = (kh == 1 and o["dilation_w"] == 1 and o["stride_h"] == 1 and pad_t == 0 and oh == ih
             and max(n * ih, iw, ic, ow, oc) <= I16 and max(kw, o["stride_w"], pad_l) <= 127
             and fast_ok(folded, w2d, shift))
    if one_d:
        layer = conv1d_layer(op, name, n * ih, iw, ic, ow, oc, kw, o["stride_w"], pad_l,
                             zp_in, zp_out, lo, hi, w2d, folded, mult, shift)
    else:
        layer = conv_generic(op, name, (n, ih, iw, ic), (n, oh, ow, oc), kh, kw,
                             o["stride_h"], o["stride_w"], o["dilation_h"], o["dilation_w"],
                             pad_t, pad_l, zp_in, zp_out, lo, hi, w2d, folded, mult, shift,
                             f"filter [{oc}][{kh}][{kw}][{ic}]")
    cx.header(
        op,
        layer,
        f"{kh}x{kw} {o['padding']} stride {o['stride_h']}x{o['stride_w']} "
        f"dilation {o['dilation_h']}x{o['dilation_w']} {o['activation']}",
    )
    layer.macs = n * oh * ow * oc * kh * kw * ic
    cx.count_weights(op, layer, w, oc)
    layer.requant = requant_stats(folded, w2d, mult, shift)
    return layer
