"""Element-wise operators: ADD (broadcasting, TFLM's int8 rescaling) and
QUANTIZE int8 -> int8 (requantization)."""

from __future__ import annotations

from ..tflite_import import Op, Tensor
from .base import Context, Layer, dims4
from .quant import ADD_LEFT_SHIFT, activation_range, add_multipliers, requantize_multiplier


def lower_add(cx: Context, op: Op, name: str) -> Layer:
    a, b, y = cx.data_in(op, 0), cx.data_in(op, 1), cx.out(op)
    for t in (a, b, y):
        if len(t.shape) > 4:
            raise cx.fail(op, f"tensor '{t.name}' has rank {len(t.shape)}; at most 4 supported")
    out4 = dims4(y.shape)

    def strides(t: Tensor) -> list[int]:
        d = dims4(t.shape)
        st = [0] * 4
        acc = 1
        for i in range(3, -1, -1):
            if d[i] == out4[i]:
                st[i] = acc if d[i] > 1 else 0
            elif d[i] == 1:
                st[i] = 0
            else:
                raise cx.fail(op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast to {list(y.shape)}")
            acc *= d[i]
        return st

    s1, zp1 = a.qparams()
    s2, zp2 = b.qparams()
    so, zpo = y.qparams()
    (m1, sh1), (m2, sh2), (mo, sho) = add_multipliers(s1, s2, so)
    if sh1 > 0 or sh2 > 0 or sho > 0:
        raise cx.fail(op, "scales out of the range TFLM's int8 ADD accepts")
    lo, hi = activation_range(op.options["activation"], y)
    layer = Layer(op=op, name=name, kernel="tnn_add_s8", ptype="tnn_add_params")
    cx.header(op, layer, op.options["activation"])
    layer.fields = [
        ("out_dims", "{" + ", ".join(map(str, out4)) + "}"),
        ("in1_strides", "{" + ", ".join(map(str, strides(a))) + "}"),
        ("in2_strides", "{" + ", ".join(map(str, strides(b))) + "}"),
        ("input1_offset", -zp1), ("input2_offset", -zp2),
        ("input1_multiplier", m1), ("input1_shift", sh1),
        ("input2_multiplier", m2), ("input2_shift", sh2),
        ("left_shift", ADD_LEFT_SHIFT),
        ("output_multiplier", mo), ("output_shift", sho),
        ("output_zero_point", zpo), ("act_min", lo), ("act_max", hi),
    ]
    layer.args = ["IN0", "IN1", "OUT0"]
    return layer


def lower_quantize(cx: Context, op: Op, name: str) -> Layer:
    x, y = cx.data_in(op), cx.out(op)
    if x.dtype != "int8" or y.dtype != "int8":
        raise cx.fail(op, f"only int8 -> int8 requantization is supported ({x.dtype} -> {y.dtype})")
    if x.size != y.size:
        raise cx.fail(op, "input and output sizes differ")
    s_in, zp_in = x.qparams()
    s_out, zp_out = y.qparams()
    mult, shift = requantize_multiplier(s_in, s_out)
    layer = Layer(op=op, name=name, kernel="tnn_requantize_s8", ptype="tnn_requantize_params")
    cx.header(op, layer, "int8 -> int8")
    layer.fields = [
        ("size", x.size), ("input_zero_point", zp_in), ("output_zero_point", zp_out),
        ("multiplier", mult), ("shift", shift),
    ]
    layer.args = ["IN0", "OUT0"]
    return layer
