"""Shape operators: views (RESHAPE, EXPAND_DIMS, SQUEEZE: no code, the
output aliases the input), CONCATENATION and PAD."""

from __future__ import annotations

import numpy as np

from ..tflite_import import Op
from .base import CArray, Context, Layer, dims4, qdesc


def lower_view(cx: Context, op: Op, name: str) -> Layer:
    i, o = cx.data_in(op), cx.out(op)
    if i.size != o.size:
        raise cx.fail(op, f"view changes the element count ({i.size} -> {o.size})")
    if i.dtype != o.dtype or i.qparams() != o.qparams():
        raise cx.fail(op, "input and output quantization differ; a view cannot requantize")
    layer = Layer(op=op, name=name, kernel=None)
    cx.header(op, layer, "(view: output aliases input, no code)")
    layer.comment = layer.comment[:1] + [
        f"  t{o.index} {list(o.shape)} = t{i.index} {list(i.shape)}, {qdesc(o)}"
    ]
    return layer


def lower_concatenation(cx: Context, op: Op, name: str) -> Layer:
    y = cx.out(op)
    ins = [cx.data_in(op, k) for k in range(len(op.inputs))]
    rank = len(y.shape)
    axis = op.options["axis"]
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise cx.fail(op, f"axis {op.options['axis']} out of range for rank {rank}")
    if rank > 4:
        raise cx.fail(op, "rank above 4 is not supported (TFLM)")
    total = 0
    for t in ins:
        if len(t.shape) != rank or any(t.shape[i] != y.shape[i] for i in range(rank) if i != axis):
            raise cx.fail(op, f"input '{t.name}' {list(t.shape)} does not fit output {list(y.shape)}")
        total += t.shape[axis]
    if total != y.shape[axis]:
        raise cx.fail(op, "inputs do not add up to the output along the axis")
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    chunks = [int(np.prod(t.shape[axis:], dtype=np.int64)) for t in ins]
    layer = Layer(op=op, name=name, kernel="tnn_concat_s8", ptype="tnn_concat_params")
    cx.header(op, layer, f"axis {axis}")
    layer.local_arrays = [CArray(f"{name}_chunk", "int32_t", np.array(chunks))]
    layer.fields = [("outer", outer), ("num_inputs", len(ins)), ("chunk", f"{name}_chunk")]
    layer.pre = [
        f"const int8_t *const {name}_in[{len(ins)}] = {{"
        + ", ".join(f"IN{k}" for k in range(len(ins)))
        + "};"
    ]
    layer.args = [f"{name}_in", "OUT0"]
    return layer


def lower_pad(cx: Context, op: Op, name: str) -> Layer:
    x, pads_t, y = cx.data_in(op), cx.index_in(op, 1, "paddings"), cx.out(op)
    rank = len(x.shape)
    if rank > 4:
        raise cx.fail(op, f"input rank {rank} is not supported (at most 4)")
    if len([i for i in op.inputs if i >= 0]) > 2:
        raise cx.fail(op, "a constant_values input is not supported (PAD pads with the zero point)")
    if x.qparams() != y.qparams():
        raise cx.fail(op, "input and output quantization differ")
    if tuple(pads_t.shape) != (rank, 2):
        # TFLM reads paddings as [rank][2]; any other shape is not a PAD it runs
        raise cx.fail(op, f"paddings of shape {list(pads_t.shape)} do not fit rank {rank} ([{rank}, 2] expected)")
    pads = pads_t.data.reshape(rank, 2).astype(np.int64)
    if np.any(pads < 0):
        raise cx.fail(op, f"paddings {pads.tolist()} do not fit rank {rank}")
    ind = dims4(x.shape)
    before = [0] * (4 - rank) + [int(p) for p in pads[:, 0]]
    outd = [ind[i] + before[i] + ([0] * (4 - rank) + [int(p) for p in pads[:, 1]])[i] for i in range(4)]
    if outd != dims4(y.shape):
        raise cx.fail(op, f"output shape {list(y.shape)} does not match the computed {outd}")
    layer = Layer(op=op, name=name, kernel="tnn_pad_s8", ptype="tnn_pad_params")
    cx.header(op, layer, f"paddings {pads.tolist()}")
    layer.fields = [
        ("in_dims", "{" + ", ".join(map(str, ind)) + "}"),
        ("out_dims", "{" + ", ".join(map(str, outd)) + "}"),
        ("before", "{" + ", ".join(map(str, before)) + "}"),
        ("pad_value", y.qparams()[1]),
    ]
    layer.args = ["IN0", "OUT0"]
    return layer
