"""FULLY_CONNECTED: a 1-D convolution with in_w = k = 1 (tnn_conv1d_s8) when
the TNN_F_FAST bound holds, else the general tnn_conv_s8."""

from __future__ import annotations

import numpy as np

from ..tflite_import import Op
from .base import Context, Layer
from .conv import conv1d_layer, conv_generic
from .layout import I16, fast_ok, requant_stats
from .quant import activation_range, channel_multipliers, per_tensor_fc_multiplier, wrap_i32


def lower_fully_connected(cx: Context, op: Op, name: str) -> Layer:
    x, w, y = cx.data_in(op), cx.const_in(op, 1, "weights"), cx.out(op)
    cx.need_rank(op, w, 2, "weights")
    oc, depth = w.shape
    if x.size % depth:
        raise cx.fail(op, f"input size {x.size} is not a multiple of the weights' depth {depth}")
    batches = x.size // depth
    if y.size != batches * oc:
        raise cx.fail(op, f"output shape {list(y.shape)} does not hold {batches}x{oc} values")
    s_in, zp_in = x.qparams()
    s_out, zp_out = y.qparams()
    fscales = cx.weights(op, w, 0, oc)
    if len(w.scale) > 1:  # TFLM per-channel: double(in) * double(filter) / double(out)
        mult, shift = channel_multipliers(s_in, fscales, s_out)
    else:
        m = per_tensor_fc_multiplier(s_in, w.scale[0], s_out)
        mult, shift = (m[0],) * oc, (m[1],) * oc
    bias = cx.bias(op, 2, oc)
    w2d = w.data.astype(np.int64)
    folded = wrap_i32(bias - zp_in * w2d.sum(axis=1))
    lo, hi = activation_range(op.options["activation"], y)
    if max(batches, depth, oc) <= I16 and fast_ok(folded, w2d, shift):
        layer = conv1d_layer(op, name, batches, 1, depth, 1, oc, 1, 1, 0,
                             zp_in, zp_out, lo, hi, w2d, folded, mult, shift)
    else:
        layer = conv_generic(op, name, (batches, 1, 1, depth), (batches, 1, 1, oc), 1, 1, 1, 1, 1, 1,
                             0, 0, zp_in, zp_out, lo, hi, w2d, folded, mult, shift,
                             f"weights [{oc}][{depth}]")
    cx.header(op, layer, op.options["activation"])
    layer.macs = batches * oc * depth
    cx.count_weights(op, layer, w, oc)
    layer.requant = requant_stats(folded, w2d, mult, shift)
    return layer
