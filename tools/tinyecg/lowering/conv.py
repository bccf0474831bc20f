"""CONV_2D: when the TNN_F_FAST bound holds, 1 x k kernels (rows of a 1-D
signal) to tnn_conv1d_s8, other kernels with dilation 1 (k x k, first layers,
1 x 1 pointwise) to the im2col matrix multiply tnn_conv2d_s8; everything else
to the general reference tnn_conv_s8."""

from __future__ import annotations

import numpy as np

from ..tflite_import import Op
from .base import CArray, Context, Layer
from .layout import I16, chan_table, fast_ok, pair4_layout, pair_layout, requant_stats
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


def conv2d_scratch(kh: int, kw: int, ic: int) -> int:
    """TNN_CONV2D_S8_SCRATCH(kh, kw, in_c) (tinynn.h)."""
    return 5 * ((kh * kw * ic + 3) & ~3)


def conv2d_layer(op: Op, name: str, ins, outs, kh, kw, sh, sw, pad_t, pad_l,
                 zp_in, zp_out, lo, hi, w2d, folded, mult, shift) -> Layer:
    """A tnn_conv2d_s8 call: im2col matrix multiply, 2 channels x 2 pixels per tile."""
    layer = Layer(op=op, name=name, kernel="tnn_conv2d_s8", ptype="tnn_conv2d_params")
    chan, fmt = chan_table(f"{name}_chan", folded, mult, shift, "bias - zp_in * sum(filter)")
    oc, ic = outs[3], ins[3]
    layer.data_arrays = [
        CArray(f"{name}_filter", "int8_t", pair4_layout(w2d),
               f"filter [{oc}][{kh}x{kw}x{ic}] taps padded to 4, channel pairs interleaved in groups of 4",
               align=4),
        chan,
    ]
    layer.fields = [
        ("input", "{" + ", ".join(map(str, ins)) + "}"),
        ("output", "{" + ", ".join(map(str, outs)) + "}"),
        ("kernel_h", kh), ("kernel_w", kw), ("stride_h", sh), ("stride_w", sw),
        ("pad_top", pad_t), ("pad_left", pad_l),
        ("input_zero_point", zp_in), ("output_zero_point", zp_out),
        ("act_min", lo), ("act_max", hi), ("flags", "TNN_F_FAST"), ("chan", fmt),
    ]
    layer.args = ["IN0", f"{name}_filter", f"{name}_chan", "OUT0", "SCRATCH"]
    layer.scratch = (f"TNN_CONV2D_S8_SCRATCH({kh}, {kw}, {ic})", conv2d_scratch(kh, kw, ic))
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
    fast = fast_ok(folded, w2d, shift)
    # 1 x 1 over a single row (a 1-D signal) stays with tnn_conv1d_s8, which
    # can absorb a following 1x2 max pool or MEAN (fusion.py)
    one_d = (kh == 1 and (kw > 1 or n * ih == 1) and o["dilation_w"] == 1 and o["stride_h"] == 1 and pad_t == 0 and oh == ih
             and max(n * ih, iw, ic, ow, oc) <= I16 and max(kw, o["stride_w"], pad_l) <= 127 and fast)
    two_d = (o["dilation_h"] == 1 and o["dilation_w"] == 1 and fast
             and max(kh, kw, o["stride_h"], o["stride_w"], pad_t, pad_l) <= I16)
    if one_d:
        layer = conv1d_layer(op, name, n * ih, iw, ic, ow, oc, kw, o["stride_w"], pad_l,
                             zp_in, zp_out, lo, hi, w2d, folded, mult, shift)
        why = "tnn_conv1d_s8: a 1 x k kernel over rows, TNN_F_FAST proven"
    elif two_d:
        layer = conv2d_layer(op, name, (n, ih, iw, ic), (n, oh, ow, oc), kh, kw, o["stride_h"], o["stride_w"],
                             pad_t, pad_l, zp_in, zp_out, lo, hi, w2d, folded, mult, shift)
        why = ("tnn_conv2d_s8: 1 x 1 pointwise, " if kh == kw == 1 else "tnn_conv2d_s8: im2col, ") + \
            "TNN_F_FAST proven"
    else:
        why = "tnn_conv_s8 (reference): " + ("dilation > 1" if fast else "the TNN_F_FAST bound does not hold")
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
    layer.comment.append(f"kernel: {why}")
    layer.macs = n * oh * ow * oc * kh * kw * ic
    cx.count_weights(op, layer, w, oc)
    layer.requant = requant_stats(folded, w2d, mult, shift)
    return layer
