"""What every lowering module shares: the lowered layer record, C arrays, and
the per-graph context with the operand checks (shapes, quantization, constant
operands) each operator family uses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import TinyEcgError
from ..tflite_import import Graph, Op, Tensor
from .quant import out_size, pad_before


@dataclass
class CArray:
    name: str
    ctype: str  # "int8_t" / "int32_t" / "uint8_t"
    values: np.ndarray
    comment: str = ""
    align: int = 0  # byte alignment the kernel's word loads rely on (0: the type's)

    @property
    def attr(self) -> str:
        return f" __attribute__((aligned({self.align})))" if self.align else ""

    def lines(self) -> list[str]:
        per = 16 if self.ctype in ("int8_t", "uint8_t") else 8
        v = [int(x) for x in np.asarray(self.values).reshape(-1)]
        return [", ".join(str(x) for x in v[i : i + per]) for i in range(0, len(v), per)]

    @property
    def nbytes(self) -> int:
        return int(np.asarray(self.values).size) * (1 if self.ctype in ("int8_t", "uint8_t") else 4)


@dataclass
class Layer:
    op: Op
    name: str  # C identifier prefix, e.g. "l01_conv"
    kernel: str | None  # tinynn function, None for views
    ptype: str | None = None  # parameter struct type
    fields: list[tuple[str, str]] = field(default_factory=list)
    local_arrays: list[CArray] = field(default_factory=list)  # model.c (quant params)
    data_arrays: list[CArray] = field(default_factory=list)  # model_data.c (weights, biases)
    args: list[str] = field(default_factory=list)
    pre: list[str] = field(default_factory=list)  # statements before the call
    comment: list[str] = field(default_factory=list)
    macs: int = 0
    params: int = 0
    src_bytes: int = 0  # weight + bias bytes of the .tflite this layer stores
    reads: list[int] = field(default_factory=list)  # data tensors read (IN0, IN1, ...)
    writes: list[int] = field(default_factory=list)  # tensors written (OUT0)
    fused_into: str | None = None  # folded into another layer's kernel call
    fusable: bool = False  # tnn_conv1d_s8 layer that can absorb a pool / mean
    fused_kinds: list[str] = field(default_factory=list)
    extra_structs: list[tuple[str, str, list]] = field(default_factory=list)  # (type, name, fields)
    requant: dict = field(default_factory=dict)  # layout.requant_stats of a weighted layer
    # (input tensor, delta, block bytes): the call's output may share one arena
    # block with that input, the output at the block's start and the input at
    # +delta (lowering/fusion.py proves the call never overwrites what it still reads)
    overlap: tuple[int, int, int] | None = None
    # kernel scratch (the SCRATCH argument): (C size expression from the kernel's
    # size macro in tinynn.h, the same size in bytes as the generator computes it)
    scratch: tuple[str, int] | None = None

    def set_field(self, key: str, value) -> None:
        for i, (k, _) in enumerate(self.fields):
            if k == key:
                self.fields[i] = (k, value)
                return
        self.fields.append((key, value))

    def get_field(self, key: str):
        return dict(self.fields)[key]


def dims4(shape) -> list[int]:
    """A shape padded with leading 1s to four dimensions."""
    s = list(shape)
    return [1] * (4 - len(s)) + s


def qdesc(t: Tensor) -> str:
    if t.scale is None:
        return "unquantized"
    if len(t.scale) == 1:
        return f"scale {float(t.scale[0]):.9g} zp {int(t.zero_point[0])}"
    return f"per-channel ({len(t.scale)} scales, axis {t.quantized_dimension})"


class Context:
    """One graph being lowered: operand access and the checks that refuse,
    with one line naming the operator, what the kernels cannot compute."""

    def __init__(self, graph: Graph):
        self.g = graph
        self.src = graph.source

    def fail(self, op: Op, msg: str) -> TinyEcgError:
        return TinyEcgError(f"{self.src}: {op.where()}: {msg}")

    def t(self, idx: int) -> Tensor:
        return self.g.tensors[idx]

    def data_in(self, op: Op, pos: int = 0) -> Tensor:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            raise self.fail(op, f"missing input {pos}")
        return self.t(op.inputs[pos])

    def const_in(self, op: Op, pos: int, what: str) -> Tensor:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            raise self.fail(op, f"missing {what}")
        t = self.t(op.inputs[pos])
        if not t.is_const:
            raise self.fail(op, f"{what} '{t.name}' is not a constant; only constant {what}s are supported")
        return t

    def index_in(self, op: Op, pos: int, what: str) -> Tensor:
        """A constant integer input that holds indices or sizes (MEAN's axis, PAD's paddings)."""
        t = self.const_in(op, pos, what)
        if t.dtype not in ("int32", "int64"):
            raise self.fail(op, f"{what} tensor is {t.dtype}; int32 expected")
        return t

    def out(self, op: Op) -> Tensor:
        if len(op.outputs) != 1:
            raise self.fail(op, f"expected 1 output, got {len(op.outputs)}")
        return self.t(op.outputs[0])

    def need_rank(self, op: Op, t: Tensor, rank: int, what: str):
        if len(t.shape) != rank:
            raise self.fail(op, f"{what} '{t.name}' has shape {list(t.shape)}; rank {rank} expected")

    def conv_operands(self, op: Op) -> tuple[Tensor, Tensor, Tensor]:
        """Input, constant filter and output of a (depthwise) convolution, all 4-D."""
        x, w, y = self.data_in(op), self.const_in(op, 1, "filter"), self.out(op)
        for t, what in ((x, "input"), (w, "filter"), (y, "output")):
            self.need_rank(op, t, 4, what)
        return x, w, y

    def conv_geometry(self, op, o, x, y, kh: int, kw: int, oc: int) -> tuple[int, int, int, int]:
        """Output height/width and SAME padding of a (depthwise) convolution; the
        output tensor must have the shape TFLite's rules give."""
        n, ih, iw, _ = x.shape
        oh = out_size(o["padding"], ih, kh, o["stride_h"], o["dilation_h"])
        ow = out_size(o["padding"], iw, kw, o["stride_w"], o["dilation_w"])
        if tuple(y.shape) != (n, oh, ow, oc):
            raise self.fail(op, f"output shape {list(y.shape)} does not match the computed {[n, oh, ow, oc]}")
        same = o["padding"] == "SAME"
        pad_t = pad_before(ih, kh, o["stride_h"], o["dilation_h"], oh) if same else 0
        pad_l = pad_before(iw, kw, o["stride_w"], o["dilation_w"], ow) if same else 0
        return oh, ow, pad_t, pad_l

    def weights(self, op: Op, w: Tensor, qdim: int, channels: int):
        """The filter's per-channel float32 scales; refuses non-int8, asymmetric
        or mis-shaped weight quantization."""
        if w.dtype != "int8":
            raise self.fail(op, f"weights '{w.name}' are {w.dtype}; int8 expected")
        if w.scale is None:
            raise self.fail(op, f"weights '{w.name}' are not quantized")
        if np.any(w.zero_point != 0):
            raise self.fail(op, f"weights '{w.name}' have a non-zero zero point; symmetric int8 expected")
        if len(w.scale) not in (1, channels):
            raise self.fail(op, f"weights '{w.name}' have {len(w.scale)} scales for {channels} channels")
        if len(w.scale) > 1 and w.quantized_dimension != qdim:
            raise self.fail(op, f"weights '{w.name}' are quantized along axis {w.quantized_dimension}, expected {qdim}")
        return np.resize(w.scale.astype(np.float32), channels)

    def bias(self, op: Op, pos: int, channels: int) -> np.ndarray:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            return np.zeros(channels, dtype=np.int64)
        b = self.const_in(op, pos, "bias")
        if b.dtype != "int32":
            raise self.fail(op, f"bias '{b.name}' is {b.dtype}; int32 expected")
        if b.size != channels:
            raise self.fail(op, f"bias '{b.name}' has {b.size} values for {channels} channels")
        return b.data.reshape(-1).astype(np.int64)

    def count_weights(self, op: Op, layer: Layer, w: Tensor, oc: int) -> None:
        """Parameters and the .tflite's weight + bias bytes of a layer."""
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        layer.params = w.size + (oc if has_bias else 0)
        layer.src_bytes = w.size + (4 * oc if has_bias else 0)

    def header(self, op: Op, layer: Layer, extra: str = ""):
        """The layer's comment in model.c: operator, operands, quantization."""
        ins = [self.t(i) for i in op.inputs if i >= 0]
        o = self.out(op) if len(op.outputs) == 1 else None
        lines = [f"operator #{op.index}: {op.kind}{(' ' + extra) if extra else ''}"]
        for t in ins:
            role = "const" if t.is_const else "in"
            lines.append(f"  {role:5} t{t.index} {t.dtype}{list(t.shape)} {qdesc(t)}")
        if o is not None:
            lines.append(f"  out   t{o.index} {o.dtype}{list(o.shape)} {qdesc(o)}")
        layer.comment = lines
