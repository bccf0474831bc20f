"""DEPTHWISE_CONV_2D: when the TNN_F_FAST bound holds and the depth multiplier
and dilation are 1, 1 x k kernels over rows (and k x 1 over an image one
pixel wide) to tnn_dwconv1d_s8 and the other kernels to tnn_dwconv2d_s8; everything else to the reference
tnn_depthwise_conv_s8."""

from __future__ import annotations

import numpy as np

from ..tflite_import import Op
from .base import CArray, Context, Layer
from .layout import I16, chan_table, fast_ok, requant_stats
from .quant import activation_range, channel_multipliers, wrap_i32


def lower_depthwise_conv_2d(cx: Context, op: Op, name: str) -> Layer:
    o = op.options
    x, w, y = cx.conv_operands(op)
    n, ih, iw, ic = x.shape
    one, kh, kw, oc = w.shape
    dm = o.get("depth_multiplier", 1)
    if one != 1 or oc != ic * dm:
        raise cx.fail(
            op, f"filter shape {list(w.shape)} does not fit {ic} input channels x depth multiplier {dm}"
        )
    oh, ow, pad_t, pad_l = cx.conv_geometry(op, o, x, y, kh, kw, oc)
    s_in, zp_in = x.qparams()
    s_out, zp_out = y.qparams()
    fscales = cx.weights(op, w, 3, oc)
    mult, shift = channel_multipliers(s_in, fscales, s_out)
    bias = cx.bias(op, 2, oc)
    lo, hi = activation_range(o["activation"], y)
    taps = w.data.reshape(kh * kw, oc).astype(np.int64)  # [tap][channel]
    one_d = (kh == 1 and dm == 1 and o["dilation_w"] == 1 and o["stride_h"] == 1 and pad_t == 0
             and oh == ih and max(n * ih, iw, ow, oc) <= I16 and max(kw, o["stride_w"], pad_l) <= 127)
    two_d = (dm == 1 and o["dilation_h"] == 1 and o["dilation_w"] == 1
             and max(n, ih, iw, oh, ow, oc) <= I16
             and max(kh, kw, o["stride_h"], o["stride_w"], pad_t, pad_l) <= 127)
    # k x 1 over an image one pixel wide (a time axis laid out as the height):
    # in memory the same as 1 x k over a row of in_h pixels
    tall = (kw == 1 and iw == 1 and ow == 1 and dm == 1 and o["dilation_h"] == 1
            and max(n, ih, oh, oc) <= I16 and max(kh, o["stride_h"], pad_t) <= 127)
    folded = wrap_i32(bias - zp_in * taps.sum(axis=0))
    fast = (one_d or tall or two_d) and fast_ok(folded, taps.T, shift)
    if fast:
        # both fast kernels take the folded bias in the same channel table and
        # end their parameters alike
        chan, fmt = chan_table(f"{name}_chan", folded, mult, shift, "bias - zp_in * sum(filter)")
        tail = [("input_zero_point", zp_in), ("output_zero_point", zp_out), ("act_min", lo), ("act_max", hi),
                ("flags", "TNN_F_FAST"), ("chan", fmt)]
    if fast and (one_d or tall):
        layer = Layer(op=op, name=name, kernel="tnn_dwconv1d_s8", ptype="tnn_dwconv1d_params")
        k, stride, pad, rows, in_w, out_w = ((kh, o["stride_h"], pad_t, n, ih, oh) if tall and not one_d else
                                             (kw, o["stride_w"], pad_l, n * ih, iw, ow))
        layer.data_arrays = [CArray(f"{name}_filter", "int8_t", w.data, f"filter [{k}][{oc}]"), chan]
        layer.fields = [
            ("rows", rows), ("in_w", in_w), ("out_w", out_w), ("channels", oc),
            ("kernel", k), ("stride", stride), ("pad", pad),
            *tail,
        ]
    elif fast:
        layer = Layer(op=op, name=name, kernel="tnn_dwconv2d_s8", ptype="tnn_dwconv2d_params")
        layer.data_arrays = [CArray(f"{name}_filter", "int8_t", w.data, f"filter [{kh}][{kw}][{oc}]"), chan]
        layer.fields = [
            ("batches", n), ("in_h", ih), ("in_w", iw), ("out_h", oh), ("out_w", ow), ("channels", oc),
            ("kernel_h", kh), ("kernel_w", kw), ("stride_h", o["stride_h"]), ("stride_w", o["stride_w"]),
            ("pad_top", pad_t), ("pad_left", pad_l),
            *tail,
        ]
    else:
        layer = Layer(op=op, name=name, kernel="tnn_depthwise_conv_s8", ptype="tnn_depthwise_conv_params")
        chan, fmt = chan_table(f"{name}_chan", wrap_i32(bias), mult, shift, "bias")
        layer.data_arrays = [CArray(f"{name}_filter", "int8_t", w.data, f"filter [1][{kh}][{kw}][{oc}]"), chan]
        layer.fields = [
            ("input", f"{{{n}, {ih}, {iw}, {ic}}}"),
            ("output", f"{{{n}, {oh}, {ow}, {oc}}}"),
            ("kernel_h", kh), ("kernel_w", kw),
            ("stride_h", o["stride_h"]), ("stride_w", o["stride_w"]),
            ("dilation_h", o["dilation_h"]), ("dilation_w", o["dilation_w"]),
            ("pad_top", pad_t), ("pad_left", pad_l),
            ("depth_multiplier", dm),
            ("input_offset", -zp_in), ("output_zero_point", zp_out),
            ("act_min", lo), ("act_max", hi), ("chan", fmt),
        ]
    cx.header(
        op,
        layer,
        f"{kh}x{kw} x{dm} {o['padding']} stride {o['stride_h']}x{o['stride_w']} "
        f"dilation {o['dilation_h']}x{o['dilation_w']} {o['activation']}",
    )
    layer.args = ["IN0", f"{name}_filter", f"{name}_chan", "OUT0"]
    layer.macs = n * oh * ow * oc * kh * kw
    cx.count_weights(op, layer, w, oc)
    layer.requant = requant_stats(folded, taps.T, mult, shift)
    return layer
