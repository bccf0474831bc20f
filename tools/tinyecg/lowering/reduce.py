"""MEAN over any axes of a <= 4-D tensor (TFLM's QuantizedMeanOrSum)."""

from __future__ import annotations

import numpy as np

from ..tflite_import import Op
from .base import Context, Layer, dims4
from .quant import mean_multiplier


def lower_mean(cx: Context, op: Op, name: str) -> Layer:
    x, axes_t, y = cx.data_in(op), cx.index_in(op, 1, "axis"), cx.out(op)
    rank = len(x.shape)
    if rank > 4 or rank == 0:
        raise cx.fail(op, f"input rank {rank} is not supported (1-4)")
    axes = []
    for a in axes_t.data.reshape(-1).tolist():
        a = a + rank if a < 0 else a
        if not 0 <= a < rank:
            raise cx.fail(op, f"axis {a} out of range for rank {rank}")
        if a not in axes:
            axes.append(a)
    dims = dims4(x.shape)
    reduce = [0] * 4
    for a in axes:
        reduce[a + 4 - rank] = 1
    count = int(np.prod([dims[i] for i in range(4) if reduce[i]], dtype=np.int64))
    out_count = x.size // max(count, 1)
    if y.size != out_count:
        raise cx.fail(op, f"output shape {list(y.shape)} does not hold {out_count} values")
    s_in, zp_in = x.qparams()
    s_out, zp_out = y.qparams()
    mult, shift = mean_multiplier(s_in, s_out, count)
    layer = Layer(op=op, name=name, kernel="tnn_mean_s8", ptype="tnn_mean_params")
    cx.header(op, layer, f"axes {sorted(axes)} keep_dims {op.options.get('keep_dims')}")
    layer.fields = [
        ("dims", "{" + ", ".join(str(d) for d in dims) + "}"),
        ("reduce", "{" + ", ".join(str(r) for r in reduce) + "}"),
        ("count", count),
        ("input_zero_point", zp_in), ("output_zero_point", zp_out),
        ("multiplier", mult), ("shift", shift),
    ]
    layer.args = ["IN0", "OUT0"]
    return layer
