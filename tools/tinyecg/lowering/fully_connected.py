"""FULLY_CONNECTED: tnn_fc_s8 (rows in quads, the input unpacked once per
batch) when the TNN_F_FAST bound holds, else the general tnn_conv_s8."""

from __future__ import annotations

import numpy as np

from ..tflite_import import Op
from .base import CArray, Context, Layer
from .conv import conv_generic
from .layout import I16, fast_ok, quad_layout, requant_stats, row_table
from .quant import activation_range, channel_multipliers, per_tensor_fc_multiplier, wrap_i32


def fc_scratch(depth: int) -> int:
    """TNN_FC_S8_SCRATCH(depth) (tinynn.h): the input as halfword pairs."""
    return 2 * ((depth + 3) & ~3)


def fc_layer(op: Op, name: str, batches, depth, oc, zp_in, zp_out, lo, hi, w2d, folded, mult, shift) -> Layer:
    layer = Layer(op=op, name=name, kernel="tnn_fc_s8", ptype="tnn_fc_params")
    rows = row_table(f"{name}_rows", folded, mult, shift, "bias - zp_in * sum(weights)")
    layer.data_arrays = [
        CArray(f"{name}_filter", "int8_t", quad_layout(w2d),
               f"weights [{oc}][{depth}] padded to a multiple of 4, rows in quads interleaved by 4", align=4),
        rows,
    ]
    layer.fields = [
        ("batches", batches), ("depth", depth), ("out_c", oc),
        ("input_zero_point", zp_in), ("output_zero_point", zp_out),
        ("act_min", lo), ("act_max", hi), ("flags", "TNN_F_FAST"),
    ]
    layer.args = ["IN0", f"{name}_filter", f"{name}_rows", "OUT0", "SCRATCH"]
    layer.scratch = (f"TNN_FC_S8_SCRATCH({depth})", fc_scratch(depth))
    return layer


def lower_fully_connected(cx: Context, op: Op, name: str) -> Layer:
    x, w, y = cx.data_in(op), cx.const_in(op, 1, "weights"), cx.out(op)
    cx.need_rank(op, w, 2, "weights")
    oc, depth = w.shape
    if x.size % depth:
        raise cx.fail(op, f"input size {x.size} is not a multiple of the weights' depth {depth}")
    batches = x.size // depth
    if y.size != batches * oc:
        raise cx.fail(op, f"output shape {list(y.shape)} does not hold {batches}x{oc} values")
    if not y.shape or y.shape[-1] != oc:
        # TFLM takes the output depth from the output's last dimension and the
        # batch count from the rest: [1, oc, 1] would make it compute oc batches
        # of one unit, reading past the end of the input (found by the fuzzer).
        raise cx.fail(op, f"output shape {list(y.shape)} does not end in the weights' {oc} units")
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
        layer = fc_layer(op, name, batches, depth, oc, zp_in, zp_out, lo, hi, w2d, folded, mult, shift)
        why = "tnn_fc_s8: TNN_F_FAST proven (|acc| * 2^(lshift+1) < 2^31)"
    else:
        why = "tnn_conv_s8 (reference): the TNN_F_FAST bound does not hold"
        layer = conv_generic(op, name, (batches, 1, 1, depth), (batches, 1, 1, oc), 1, 1, 1, 1, 1, 1,
                             0, 0, zp_in, zp_out, lo, hi, w2d, folded, mult, shift,
                             f"weights [{oc}][{depth}]")
    cx.header(op, layer, op.options["activation"])
    layer.comment.append(f"kernel: {why}")
    layer.macs = batches * oc * depth
    cx.count_weights(op, layer, w, oc)
    layer.requant = requant_stats(folded, w2d, mult, shift)
    return layer
