"""Ahead-of-time C code generation for int8 TFLite models.

``generate(graph, out_dir)`` lowers each operator of a :class:`tflite_import.Graph`
to a call of a tinynn kernel (firmware/lib/tinynn) with a ``const`` parameter
struct whose every number is computed here, in Python, exactly the way TFLM's
Prepare() computes it (QuantizeMultiplier, activation ranges, padding, softmax
scaling, ...). Tensors get offsets in one static arena planned from their
lifetimes; RESHAPE/EXPAND_DIMS/SQUEEZE outputs alias their input (views).

Output (all from jinja templates in ``templates/``, byte-identical run to run):
``model_data.c`` (weights and folded biases, const), ``model.c`` + ``model.h``
(``int model_invoke(const int8_t *in, int8_t *out)``) and ``model_config.h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from .errors import TinyEcgError
from .tflite_import import VIEW_OPS, Graph, Op, Tensor

ARENA_ALIGN = 4
TEMPLATE_DIR = Path(__file__).parent / "templates"
GENERATED_FILES = ("model_data.c", "model.c", "model.h", "model_config.h")


# --------------------------------------------------------------------------
# TFLM's quantization arithmetic, reproduced at generation time
# --------------------------------------------------------------------------


def _round_away(x: float) -> int:
    """std::round / TfLiteRound: half away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier: m = q * 2^(shift - 31), q in [2^30, 2^31)."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = _round_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if q_fixed > 0x7FFFFFFF:
        raise TinyEcgError(f"quantized multiplier overflow for {m}")
    if shift > 30:  # x * 2^shift overflows int32 (UB in TFLM's and tinynn's requantization)
        raise TinyEcgError(f"requantization multiplier {m:g} is out of range (at most 2^30)")
    return int(q_fixed), int(shift)


def activation_range(act: str, out: Tensor) -> tuple[int, int]:
    """TFLM CalculateActivationRangeQuantized for int8 (float32 division, std::round)."""
    scale, zp = np.float32(out.scale[0]), int(out.zero_point[0])

    def q(f: float) -> int:
        return zp + _round_away(float(np.float32(f) / scale))

    if act == "NONE":
        return -128, 127
    if act == "RELU":
        return max(-128, q(0.0)), 127
    if act == "RELU6":
        return max(-128, q(0.0)), min(127, q(6.0))
    raise TinyEcgError(f"unsupported activation {act}")


def _out_size(padding: str, size: int, k: int, stride: int, dilation: int = 1) -> int:
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size + stride - eff) // stride


def _pad_before(size: int, k: int, stride: int, dilation: int, out: int) -> int:
    eff = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2


def _channel_multipliers(s_in, filter_scales, s_out) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per-output-channel (multiplier, shift) of s_in * s_filter / s_out, as TFLM's Prepare computes them."""
    return tuple(zip(*(quantize_multiplier(_f64(s_in) * _f64(fs) / _f64(s_out)) for fs in filter_scales)))


def _wrap_i32(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    return (((a + (1 << 31)) % (1 << 32)) - (1 << 31)).astype(np.int64)


def _f64(x) -> float:
    """A float32 scale widened to double, as TFLM's static_cast<double>."""
    return float(np.float32(x))


# --------------------------------------------------------------------------
# Lowered program
# --------------------------------------------------------------------------


@dataclass
class CArray:
    name: str
    ctype: str  # "int8_t" / "int32_t"
    values: np.ndarray
    comment: str = ""

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


@dataclass
class Buffer:
    root: int
    size: int
    first: int
    last: int
    offset: int = -1


@dataclass
class Program:
    graph: Graph
    layers: list[Layer]
    buffers: dict[int, Buffer]  # arena-resident roots
    root_of: dict[int, int]
    arena_bytes: int
    class_names: list[str] | None

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def weight_bytes(self) -> int:
        """Bytes of model_data.c: weights and channel tables (bias, multiplier, shift)."""
        return sum(a.nbytes for layer in self.layers for a in layer.data_arrays)

    @property
    def src_weight_bytes(self) -> int:
        """Weight + bias bytes as the .tflite stores them (int8 weights, int32 biases)."""
        return sum(layer.src_bytes for layer in self.layers)

    @property
    def steps(self) -> list[Layer]:
        """Layers that emit a kernel call, in order."""
        return [layer for layer in self.layers if layer.kernel and not layer.fused_into]

    @property
    def quant_bytes(self) -> int:
        return sum(a.nbytes for layer in self.layers for a in layer.local_arrays)

    @property
    def input_bytes(self) -> int:
        return sum(self.graph.tensors[i].nbytes for i in self.graph.inputs)

    @property
    def output_bytes(self) -> int:
        return sum(self.graph.tensors[i].nbytes for i in self.graph.outputs)


# --------------------------------------------------------------------------
# Lowering
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Generation-time layout: channel tables, filter order, exactness checks
# --------------------------------------------------------------------------

I16 = 32767


def chan_table(name: str, bias, mult, shift, comment: str) -> tuple[CArray, str]:
    """Pack per-channel (bias, multiplier, shift) into tinynn's channel table:
    per channel a uint32 LE multiplier, then `bytes` LE bytes of
    bias * 2^bits + (shift - shift_base). Returns the array and the C
    initializer of its tnn_chan_fmt."""
    bias = np.asarray(bias, dtype=np.int64).reshape(-1)
    mult = np.asarray(mult, dtype=np.int64).reshape(-1)
    shift = np.asarray(shift, dtype=np.int64).reshape(-1)
    base = int(shift.min())
    bits = int(int(shift.max()) - base).bit_length()
    if bits > 7 or not -128 <= base <= 127:
        raise TinyEcgError(f"{name}: per-channel shifts {base}..{int(shift.max())} out of range")
    v = bias * (1 << bits) + (shift - base)
    nbytes = next(n for n in range(1, 6) if v.min() >= -(1 << (8 * n - 1)) and v.max() < (1 << (8 * n - 1)))
    rec = []
    for m, x in zip(mult.tolist(), v.tolist()):
        rec += list(int(m).to_bytes(4, "little", signed=False))
        rec += list(int(x).to_bytes(nbytes, "little", signed=True))
    arr = CArray(name, "uint8_t", np.array(rec, dtype=np.int64),
                 f"{comment}; per channel: u32 multiplier, {nbytes}-byte bias*2^{bits} + (shift - ({base}))")
    return arr, f"{{{nbytes}, {bits}, {base}}}"


def pair_layout(w2d: np.ndarray) -> np.ndarray:
    """tnn_conv1d_s8 filter order: output channels in pairs, the pair's taps
    in interleaved groups of four, then each channel's leftover taps; an odd
    last channel plain."""
    oc, n = w2d.shape
    full = n & ~3
    parts = []
    for j in range(0, oc - 1, 2):
        a, b = w2d[j], w2d[j + 1]
        for g in range(0, full, 4):
            parts += [a[g : g + 4], b[g : g + 4]]
        parts += [a[full:], b[full:]]
    if oc % 2:
        parts.append(w2d[-1])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def fast_ok(bias, w2d: np.ndarray, shift) -> bool:
    """TNN_F_FAST: |acc| * 2^(left shift + 1) < 2^31 for every accumulator a
    channel can reach (|bias| + 128 * sum|w|: inputs and padded taps are int8).
    Under it the SIMD requantization (SMMULR) equals TFLM's for every input
    and requantization is monotone (a fused max pool may compare accumulators);
    layers without it are lowered to the general kernels."""
    bound = np.abs(np.asarray(bias, np.int64)) + 128 * np.abs(w2d.astype(np.int64)).sum(axis=1)
    left = np.maximum(np.asarray(shift, np.int64), 0)
    return bool(np.all((bound << (left + 1)) < (1 << 31)))


def set_field(layer, key: str, value) -> None:
    for i, (k, _) in enumerate(layer.fields):
        if k == key:
            layer.fields[i] = (k, value)
            return
    layer.fields.append((key, value))


def get_field(layer, key: str):
    return dict(layer.fields)[key]



class _Lowerer:
    def __init__(self, graph: Graph):
        self.g = graph
        self.src = graph.source

    def fail(self, op: Op, msg: str) -> TinyEcgError:
        return TinyEcgError(f"{self.src}: {op.where()}: {msg}")

    def t(self, idx: int) -> Tensor:
        return self.g.tensors[idx]

    def conv_geometry(self, op, o, x, y, kh: int, kw: int, oc: int) -> tuple[int, int, int, int]:
        """Output height/width and SAME padding of a (depthwise) convolution; the
        output tensor must have the shape TFLite's rules give."""
        n, ih, iw, _ = x.shape
        oh = _out_size(o["padding"], ih, kh, o["stride_h"], o["dilation_h"])
        ow = _out_size(o["padding"], iw, kw, o["stride_w"], o["dilation_w"])
        if tuple(y.shape) != (n, oh, ow, oc):
            raise self.fail(op, f"output shape {list(y.shape)} does not match the computed {[n, oh, ow, oc]}")
        same = o["padding"] == "SAME"
        pad_t = _pad_before(ih, kh, o["stride_h"], o["dilation_h"], oh) if same else 0
        pad_l = _pad_before(iw, kw, o["stride_w"], o["dilation_w"], ow) if same else 0
        return oh, ow, pad_t, pad_l

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

    def out(self, op: Op) -> Tensor:
        if len(op.outputs) != 1:
            raise self.fail(op, f"expected 1 output, got {len(op.outputs)}")
        return self.t(op.outputs[0])

    @staticmethod
    def dims4(shape, op=None) -> list[int]:
        s = list(shape)
        return [1] * (4 - len(s)) + s

    def need_rank(self, op: Op, t: Tensor, rank: int, what: str):
        if len(t.shape) != rank:
            raise self.fail(op, f"{what} '{t.name}' has shape {list(t.shape)}; rank {rank} expected")

    def weights(self, op: Op, w: Tensor, qdim: int, channels: int):
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

    def per_tensor(self, op: Op, t: Tensor) -> tuple[float, int]:
        return t.qparams()

    @staticmethod
    def qdesc(t: Tensor) -> str:
        if t.scale is None:
            return "unquantized"
        if len(t.scale) == 1:
            return f"scale {float(t.scale[0]):.9g} zp {int(t.zero_point[0])}"
        return f"per-channel ({len(t.scale)} scales, axis {t.quantized_dimension})"

    def header(self, op: Op, layer: Layer, extra: str = ""):
        ins = [self.t(i) for i in op.inputs if i >= 0]
        o = self.out(op) if len(op.outputs) == 1 else None
        lines = [f"operator #{op.index}: {op.kind}{(' ' + extra) if extra else ''}"]
        for k, t in enumerate(ins):
            role = "const" if t.is_const else "in"
            lines.append(f"  {role:5} t{t.index} {t.dtype}{list(t.shape)} {self.qdesc(t)}")
        if o is not None:
            lines.append(f"  out   t{o.index} {o.dtype}{list(o.shape)} {self.qdesc(o)}")
        layer.comment = lines

    # ---------------------------------------------------------------- ops
    def lower(self, op: Op, n: int) -> Layer:
        short = op.kind.lower().replace("_2d", "").replace("depthwise_conv", "dwconv")
        short = short.replace("fully_connected", "fc").replace("concatenation", "concat")
        short = short.replace("average_pool", "avgpool").replace("max_pool", "maxpool")
        name = f"l{n:02d}_{short}"
        fn = getattr(self, "lower_" + op.kind.lower())
        layer = fn(op, name)
        return layer

    def _view(self, op: Op, name: str) -> Layer:
        i, o = self.data_in(op), self.out(op)
        if i.size != o.size:
            raise self.fail(op, f"view changes the element count ({i.size} -> {o.size})")
        if i.dtype != o.dtype or i.qparams() != o.qparams():
            raise self.fail(op, "input and output quantization differ; a view cannot requantize")
        layer = Layer(op=op, name=name, kernel=None)
        self.header(op, layer, "(view: output aliases input, no code)")
        layer.comment = layer.comment[:1] + [
            f"  t{o.index} {list(o.shape)} = t{i.index} {list(i.shape)}, {self.qdesc(o)}"
        ]
        return layer

    lower_reshape = _view
    lower_expand_dims = _view
    lower_squeeze = _view

    def _conv1d_layer(self, op: Op, name: str, rows, in_w, in_c, out_w, out_c, k, stride, pad,
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

    def _conv_generic(self, op: Op, name: str, ins, outs, kh, kw, sh, sw, dh, dw, pad_t, pad_l,
                      zp_in, zp_out, lo, hi, w2d, folded, mult, shift, desc) -> Layer:
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

    def lower_conv_2d(self, op: Op, name: str) -> Layer:
        o = op.options
        x, w, y = self.data_in(op), self.const_in(op, 1, "filter"), self.out(op)
        for t, what in ((x, "input"), (w, "filter"), (y, "output")):
            self.need_rank(op, t, 4, what)
        n, ih, iw, ic = x.shape
        oc, kh, kw, fic = w.shape
        if fic != ic:
            raise self.fail(op, f"grouped convolution (input has {ic} channels, filter {fic}) is not supported")
        oh, ow, pad_t, pad_l = self.conv_geometry(op, o, x, y, kh, kw, oc)
        s_in, zp_in = x.qparams()
        s_out, zp_out = y.qparams()
        fscales = self.weights(op, w, 0, oc)
        mult, shift = _channel_multipliers(s_in, fscales, s_out)
        bias = self.bias(op, 2, oc)
        w2d = w.data.reshape(oc, -1).astype(np.int64)
        folded = _wrap_i32(bias - zp_in * w2d.sum(axis=1))
        lo, hi = activation_range(o["activation"], y)
        one_d = (kh == 1 and o["dilation_w"] == 1 and o["stride_h"] == 1 and pad_t == 0 and oh == ih
                 and max(n * ih, iw, ic, ow, oc) <= I16 and max(kw, o["stride_w"], pad_l) <= 127
                 and fast_ok(folded, w2d, shift))
        if one_d:
            layer = self._conv1d_layer(op, name, n * ih, iw, ic, ow, oc, kw, o["stride_w"], pad_l,
                                       zp_in, zp_out, lo, hi, w2d, folded, mult, shift)
        else:
            layer = self._conv_generic(op, name, (n, ih, iw, ic), (n, oh, ow, oc), kh, kw,
                                       o["stride_h"], o["stride_w"], o["dilation_h"], o["dilation_w"],
                                       pad_t, pad_l, zp_in, zp_out, lo, hi, w2d, folded, mult, shift,
                                       f"filter [{oc}][{kh}][{kw}][{ic}]")
        self.header(
            op,
            layer,
            f"{kh}x{kw} {o['padding']} stride {o['stride_h']}x{o['stride_w']} "
            f"dilation {o['dilation_h']}x{o['dilation_w']} {o['activation']}",
        )
        layer.macs = n * oh * ow * oc * kh * kw * ic
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        layer.params = w.size + (oc if has_bias else 0)
        layer.src_bytes = w.size + (4 * oc if has_bias else 0)
        return layer

    def lower_depthwise_conv_2d(self, op: Op, name: str) -> Layer:
        o = op.options
        x, w, y = self.data_in(op), self.const_in(op, 1, "filter"), self.out(op)
        for t, what in ((x, "input"), (w, "filter"), (y, "output")):
            self.need_rank(op, t, 4, what)
        n, ih, iw, ic = x.shape
        one, kh, kw, oc = w.shape
        dm = o.get("depth_multiplier", 1)
        if one != 1 or oc != ic * dm:
            raise self.fail(
                op, f"filter shape {list(w.shape)} does not fit {ic} input channels x depth multiplier {dm}"
            )
        oh, ow, pad_t, pad_l = self.conv_geometry(op, o, x, y, kh, kw, oc)
        s_in, zp_in = x.qparams()
        s_out, zp_out = y.qparams()
        fscales = self.weights(op, w, 3, oc)
        mult, shift = _channel_multipliers(s_in, fscales, s_out)
        bias = self.bias(op, 2, oc)
        lo, hi = activation_range(o["activation"], y)
        taps = w.data.reshape(kh * kw, oc).astype(np.int64)  # [tap][channel]
        one_d = (kh == 1 and dm == 1 and o["dilation_w"] == 1 and o["stride_h"] == 1 and pad_t == 0
                 and oh == ih and max(n * ih, iw, ow, oc) <= I16 and max(kw, o["stride_w"], pad_l) <= 127)
        folded = _wrap_i32(bias - zp_in * taps.sum(axis=0))
        if one_d and fast_ok(folded, taps.T, shift):
            layer = Layer(op=op, name=name, kernel="tnn_dwconv1d_s8", ptype="tnn_dwconv1d_params")
            chan, fmt = chan_table(f"{name}_chan", folded, mult, shift, "bias - zp_in * sum(filter)")
            layer.data_arrays = [CArray(f"{name}_filter", "int8_t", w.data, f"filter [{kw}][{oc}]"), chan]
            layer.fields = [
                ("rows", n * ih), ("in_w", iw), ("out_w", ow), ("channels", oc),
                ("kernel", kw), ("stride", o["stride_w"]), ("pad", pad_l),
                ("input_zero_point", zp_in), ("output_zero_point", zp_out),
                ("act_min", lo), ("act_max", hi),
                ("flags", "TNN_F_FAST"),
                ("chan", fmt),
            ]
        else:
            layer = Layer(op=op, name=name, kernel="tnn_depthwise_conv_s8", ptype="tnn_depthwise_conv_params")
            chan, fmt = chan_table(f"{name}_chan", _wrap_i32(bias), mult, shift, "bias")
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
        self.header(
            op,
            layer,
            f"{kh}x{kw} x{dm} {o['padding']} stride {o['stride_h']}x{o['stride_w']} "
            f"dilation {o['dilation_h']}x{o['dilation_w']} {o['activation']}",
        )
        layer.args = ["IN0", f"{name}_filter", f"{name}_chan", "OUT0"]
        layer.macs = n * oh * ow * oc * kh * kw
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        layer.params = w.size + (oc if has_bias else 0)
        layer.src_bytes = w.size + (4 * oc if has_bias else 0)
        return layer

    def lower_fully_connected(self, op: Op, name: str) -> Layer:
        x, w, y = self.data_in(op), self.const_in(op, 1, "weights"), self.out(op)
        self.need_rank(op, w, 2, "weights")
        oc, depth = w.shape
        if x.size % depth:
            raise self.fail(op, f"input size {x.size} is not a multiple of the weights' depth {depth}")
        batches = x.size // depth
        if y.size != batches * oc:
            raise self.fail(op, f"output shape {list(y.shape)} does not hold {batches}x{oc} values")
        s_in, zp_in = x.qparams()
        s_out, zp_out = y.qparams()
        fscales = self.weights(op, w, 0, oc)
        if len(w.scale) > 1:  # TFLM per-channel: double(in) * double(filter) / double(out)
            ms = [quantize_multiplier(_f64(s_in) * _f64(fs) / _f64(s_out)) for fs in fscales]
        else:  # TFLM GetQuantizedConvolutionMultipler: float product, then double division
            m = quantize_multiplier(float(np.float32(s_in) * np.float32(w.scale[0])) / _f64(s_out))
            ms = [m] * oc
        mult, shift = zip(*ms)
        bias = self.bias(op, 2, oc)
        w2d = w.data.astype(np.int64)
        folded = _wrap_i32(bias - zp_in * w2d.sum(axis=1))
        lo, hi = activation_range(op.options["activation"], y)
        if max(batches, depth, oc) <= I16 and fast_ok(folded, w2d, shift):
            layer = self._conv1d_layer(op, name, batches, 1, depth, 1, oc, 1, 1, 0,
                                       zp_in, zp_out, lo, hi, w2d, folded, mult, shift)
        else:
            layer = self._conv_generic(op, name, (batches, 1, 1, depth), (batches, 1, 1, oc), 1, 1, 1, 1, 1, 1,
                                       0, 0, zp_in, zp_out, lo, hi, w2d, folded, mult, shift,
                                       f"weights [{oc}][{depth}]")
        self.header(op, layer, op.options["activation"])
        layer.macs = batches * oc * depth
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        layer.params = w.size + (oc if has_bias else 0)
        layer.src_bytes = w.size + (4 * oc if has_bias else 0)
        return layer

    def _pool(self, op: Op, name: str, kernel: str) -> Layer:
        o = op.options
        x, y = self.data_in(op), self.out(op)
        self.need_rank(op, x, 4, "input")
        self.need_rank(op, y, 4, "output")
        if x.qparams() != y.qparams():
            raise self.fail(op, "input and output quantization differ (TFLM pools without rescaling)")
        n, ih, iw, c = x.shape
        fh, fw, sh, sw = o["filter_h"], o["filter_w"], o["stride_h"], o["stride_w"]
        oh, ow = _out_size(o["padding"], ih, fh, sh), _out_size(o["padding"], iw, fw, sw)
        if tuple(y.shape) != (n, oh, ow, c):
            raise self.fail(op, f"output shape {list(y.shape)} does not match the computed {[n, oh, ow, c]}")
        if oh <= 0 or ow <= 0:
            raise self.fail(op, "empty output")
        pad_t = _pad_before(ih, fh, sh, 1, oh) if o["padding"] == "SAME" else 0
        pad_l = _pad_before(iw, fw, sw, 1, ow) if o["padding"] == "SAME" else 0
        lo, hi = activation_range(o["activation"], y)
        layer = Layer(op=op, name=name, kernel=kernel, ptype="tnn_pool_params")
        self.header(op, layer, f"{fh}x{fw} {o['padding']} stride {sh}x{sw} {o['activation']}")
        layer.fields = [
            ("input", f"{{{n}, {ih}, {iw}, {c}}}"),
            ("output", f"{{{n}, {oh}, {ow}, {c}}}"),
            ("filter_h", fh), ("filter_w", fw), ("stride_h", sh), ("stride_w", sw),
            ("pad_top", pad_t), ("pad_left", pad_l), ("act_min", lo), ("act_max", hi),
        ]
        layer.args = ["IN0", "OUT0"]
        return layer

    def lower_max_pool_2d(self, op: Op, name: str) -> Layer:
        return self._pool(op, name, "tnn_max_pool_s8")

    def lower_average_pool_2d(self, op: Op, name: str) -> Layer:
        return self._pool(op, name, "tnn_avg_pool_s8")

    def lower_mean(self, op: Op, name: str) -> Layer:
        x, axes_t, y = self.data_in(op), self.const_in(op, 1, "axis"), self.out(op)
        rank = len(x.shape)
        if rank > 4 or rank == 0:
            raise self.fail(op, f"input rank {rank} is not supported (1-4)")
        if axes_t.dtype not in ("int32", "int64"):
            raise self.fail(op, f"axis tensor is {axes_t.dtype}; int32 expected")
        axes = []
        for a in axes_t.data.reshape(-1).tolist():
            a = a + rank if a < 0 else a
            if not 0 <= a < rank:
                raise self.fail(op, f"axis {a} out of range for rank {rank}")
            if a not in axes:
                axes.append(a)
        dims = self.dims4(x.shape)
        reduce = [0] * 4
        for a in axes:
            reduce[a + 4 - rank] = 1
        count = int(np.prod([dims[i] for i in range(4) if reduce[i]], dtype=np.int64))
        out_count = x.size // max(count, 1)
        if y.size != out_count:
            raise self.fail(op, f"output shape {list(y.shape)} does not hold {out_count} values")
        s_in, zp_in = x.qparams()
        s_out, zp_out = y.qparams()
        mult, shift = quantize_multiplier(_f64(s_in) / _f64(s_out))
        # reference_ops::QuantizedMeanOrSum folds 1/count into the multiplier
        sh = min(count.bit_length() - 1, 32, 31 + shift)
        mult = int((mult << sh) // count) if sh >= 0 else int((mult >> -sh) // count)
        shift = shift - sh
        layer = Layer(op=op, name=name, kernel="tnn_mean_s8", ptype="tnn_mean_params")
        self.header(op, layer, f"axes {sorted(axes)} keep_dims {op.options.get('keep_dims')}")
        layer.fields = [
            ("dims", "{" + ", ".join(str(d) for d in dims) + "}"),
            ("reduce", "{" + ", ".join(str(r) for r in reduce) + "}"),
            ("count", count),
            ("input_zero_point", zp_in), ("output_zero_point", zp_out),
            ("multiplier", mult), ("shift", shift),
        ]
        layer.args = ["IN0", "OUT0"]
        return layer

    def lower_softmax(self, op: Op, name: str) -> Layer:
        x, y = self.data_in(op), self.out(op)
        s_in, _ = x.qparams()
        s_out, zp_out = y.qparams()
        if zp_out != -128 or abs(float(s_out) - 1.0 / 256) > 0.001 * (1.0 / 256):
            raise self.fail(op, f"output quantization must be scale 1/256 zero point -128 (TFLM), got {s_out} {zp_out}")
        if x.shape != y.shape:
            raise self.fail(op, "input and output shapes differ")
        depth = x.shape[-1] if x.shape else 1
        beta = op.options.get("beta", 1.0)
        real = min(float(beta) * _f64(s_in) * float(1 << (31 - 5)), float((1 << 31) - 1))
        if not real > 1.0:
            raise self.fail(op, f"input scale {s_in} x beta {beta} is too small for TFLM's softmax")
        if not real < float(1 << 30):  # the left shift would reach 31: diff << 31 overflows (TFLM too)
            raise self.fail(op, f"input scale {s_in} x beta {beta} is too large for TFLM's softmax")
        mult, left_shift = quantize_multiplier(real)
        radius = math.floor(1.0 * ((1 << 5) - 1) * (1 << (31 - 5)) / (1 << left_shift))
        layer = Layer(op=op, name=name, kernel="tnn_softmax_s8", ptype="tnn_softmax_params")
        self.header(op, layer, f"beta {beta:g} over the last axis")
        layer.fields = [
            ("outer", x.size // depth), ("depth", depth),
            ("input_multiplier", mult), ("input_left_shift", left_shift), ("diff_min", -int(radius)),
        ]
        layer.args = ["IN0", "OUT0"]
        return layer

    def lower_add(self, op: Op, name: str) -> Layer:
        a, b, y = self.data_in(op, 0), self.data_in(op, 1), self.out(op)
        for t in (a, b, y):
            if len(t.shape) > 4:
                raise self.fail(op, f"tensor '{t.name}' has rank {len(t.shape)}; at most 4 supported")
        out4 = self.dims4(y.shape)

        def strides(t: Tensor) -> list[int]:
            d = self.dims4(t.shape)
            st = [0] * 4
            acc = 1
            for i in range(3, -1, -1):
                if d[i] == out4[i]:
                    st[i] = acc if d[i] > 1 else 0
                elif d[i] == 1:
                    st[i] = 0
                else:
                    raise self.fail(op, f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast to {list(y.shape)}")
                acc *= d[i]
            return st

        s1, zp1 = a.qparams()
        s2, zp2 = b.qparams()
        so, zpo = y.qparams()
        left_shift = 20
        twice_max = 2.0 * _f64(max(np.float32(s1), np.float32(s2)))
        m1, sh1 = quantize_multiplier(_f64(s1) / twice_max)
        m2, sh2 = quantize_multiplier(_f64(s2) / twice_max)
        mo, sho = quantize_multiplier(twice_max / ((1 << left_shift) * _f64(so)))
        if sh1 > 0 or sh2 > 0 or sho > 0:
            raise self.fail(op, "scales out of the range TFLM's int8 ADD accepts")
        lo, hi = activation_range(op.options["activation"], y)
        layer = Layer(op=op, name=name, kernel="tnn_add_s8", ptype="tnn_add_params")
        self.header(op, layer, op.options["activation"])
        layer.fields = [
            ("out_dims", "{" + ", ".join(map(str, out4)) + "}"),
            ("in1_strides", "{" + ", ".join(map(str, strides(a))) + "}"),
            ("in2_strides", "{" + ", ".join(map(str, strides(b))) + "}"),
            ("input1_offset", -zp1), ("input2_offset", -zp2),
            ("input1_multiplier", m1), ("input1_shift", sh1),
            ("input2_multiplier", m2), ("input2_shift", sh2),
            ("left_shift", left_shift),
            ("output_multiplier", mo), ("output_shift", sho),
            ("output_zero_point", zpo), ("act_min", lo), ("act_max", hi),
        ]
        layer.args = ["IN0", "IN1", "OUT0"]
        return layer

    def lower_concatenation(self, op: Op, name: str) -> Layer:
        y = self.out(op)
        ins = [self.data_in(op, k) for k in range(len(op.inputs))]
        rank = len(y.shape)
        axis = op.options["axis"]
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            raise self.fail(op, f"axis {op.options['axis']} out of range for rank {rank}")
        if rank > 4:
            raise self.fail(op, "rank above 4 is not supported (TFLM)")
        total = 0
        for t in ins:
            if len(t.shape) != rank or any(t.shape[i] != y.shape[i] for i in range(rank) if i != axis):
                raise self.fail(op, f"input '{t.name}' {list(t.shape)} does not fit output {list(y.shape)}")
            total += t.shape[axis]
        if total != y.shape[axis]:
            raise self.fail(op, "inputs do not add up to the output along the axis")
        outer = int(np.prod(y.shape[:axis], dtype=np.int64))
        chunks = [int(np.prod(t.shape[axis:], dtype=np.int64)) for t in ins]
        layer = Layer(op=op, name=name, kernel="tnn_concat_s8", ptype="tnn_concat_params")
        self.header(op, layer, f"axis {axis}")
        layer.local_arrays = [CArray(f"{name}_chunk", "int32_t", np.array(chunks))]
        layer.fields = [("outer", outer), ("num_inputs", len(ins)), ("chunk", f"{name}_chunk")]
        layer.pre = [
            f"const int8_t *const {name}_in[{len(ins)}] = {{"
            + ", ".join(f"IN{k}" for k in range(len(ins)))
            + "};"
        ]
        layer.args = [f"{name}_in", "OUT0"]
        return layer

    def lower_pad(self, op: Op, name: str) -> Layer:
        x, pads_t, y = self.data_in(op), self.const_in(op, 1, "paddings"), self.out(op)
        rank = len(x.shape)
        if rank > 4:
            raise self.fail(op, f"input rank {rank} is not supported (at most 4)")
        if len([i for i in op.inputs if i >= 0]) > 2:
            raise self.fail(op, "a constant_values input is not supported (PAD pads with the zero point)")
        if x.qparams() != y.qparams():
            raise self.fail(op, "input and output quantization differ")
        pads = pads_t.data.reshape(-1, 2).astype(np.int64)
        if pads.shape[0] != rank or np.any(pads < 0):
            raise self.fail(op, f"paddings {pads.tolist()} do not fit rank {rank}")
        ind = self.dims4(x.shape)
        before = [0] * (4 - rank) + [int(p) for p in pads[:, 0]]
        outd = [ind[i] + before[i] + ([0] * (4 - rank) + [int(p) for p in pads[:, 1]])[i] for i in range(4)]
        if outd != self.dims4(y.shape):
            raise self.fail(op, f"output shape {list(y.shape)} does not match the computed {outd}")
        layer = Layer(op=op, name=name, kernel="tnn_pad_s8", ptype="tnn_pad_params")
        self.header(op, layer, f"paddings {pads.tolist()}")
        layer.fields = [
            ("in_dims", "{" + ", ".join(map(str, ind)) + "}"),
            ("out_dims", "{" + ", ".join(map(str, outd)) + "}"),
            ("before", "{" + ", ".join(map(str, before)) + "}"),
            ("pad_value", y.qparams()[1]),
        ]
        layer.args = ["IN0", "OUT0"]
        return layer

    def lower_quantize(self, op: Op, name: str) -> Layer:
        x, y = self.data_in(op), self.out(op)
        if x.dtype != "int8" or y.dtype != "int8":
            raise self.fail(op, f"only int8 -> int8 requantization is supported ({x.dtype} -> {y.dtype})")
        if x.size != y.size:
            raise self.fail(op, "input and output sizes differ")
        s_in, zp_in = x.qparams()
        s_out, zp_out = y.qparams()
        mult, shift = quantize_multiplier(_f64(s_in) / _f64(s_out))
        layer = Layer(op=op, name=name, kernel="tnn_requantize_s8", ptype="tnn_requantize_params")
        self.header(op, layer, "int8 -> int8")
        layer.fields = [
            ("size", x.size), ("input_zero_point", zp_in), ("output_zero_point", zp_out),
            ("multiplier", mult), ("shift", shift),
        ]
        layer.args = ["IN0", "OUT0"]
        return layer


# --------------------------------------------------------------------------
# Memory plan
# --------------------------------------------------------------------------


def _roots(graph: Graph) -> dict[int, int]:
    """Map every tensor to the tensor whose storage it uses (views alias)."""
    root = {i: i for i in range(len(graph.tensors))}
    for op in graph.ops:
        if op.kind in VIEW_OPS:
            root[op.outputs[0]] = root[op.inputs[0]]
    return root


def plan_memory(graph: Graph, root_of: dict[int, int],
                layers: list[Layer] | None = None) -> tuple[dict[int, Buffer], int]:
    """Arena placement of the tensors the kernel calls write.

    A root lives from the call that writes it to the last call that reads it
    or any view of it (by operator index; a fused call counts at its first
    operator); graph outputs live to the end (they are copied out). Tensors
    inside a fused call are never written, so they get no memory. Graph
    inputs are read in place from the caller's buffer, constants from flash.
    """
    end = len(graph.ops)
    inputs = {root_of[i] for i in graph.inputs}
    if layers is None:
        steps = [(op.index, list(op.inputs), list(op.outputs)) for op in graph.ops if op.kind not in VIEW_OPS]
    else:
        steps = [(l.op.index, l.reads, l.writes) for l in layers if l.kernel and not l.fused_into]
    bufs: dict[int, Buffer] = {}
    for index, _, writes in steps:
        for t in writes:
            r = root_of[t]
            if r in inputs or graph.tensors[r].is_const:
                continue
            bufs.setdefault(r, Buffer(root=r, size=graph.tensors[r].nbytes, first=index, last=index))
    for index, reads, _ in steps:
        for t in reads:
            if t >= 0 and root_of[t] in bufs:
                b = bufs[root_of[t]]
                b.last = max(b.last, index)
    for t in graph.outputs:
        if root_of[t] in bufs:
            bufs[root_of[t]].last = end

    def aligned(n: int) -> int:
        return (n + ARENA_ALIGN - 1) // ARENA_ALIGN * ARENA_ALIGN

    def place(order: list[Buffer]) -> dict[int, int]:
        """First fit: each buffer at the lowest offset free for its whole lifetime."""
        placed: list[tuple[Buffer, int]] = []
        offsets = {}
        for b in order:
            live = sorted(((off, p) for p, off in placed if not (p.last < b.first or b.last < p.first)),
                          key=lambda t: (t[0], t[1].root))
            offset = 0
            for off, p in live:
                if offset + aligned(b.size) <= off:
                    break
                offset = max(offset, off + aligned(p.size))
            offsets[b.root] = offset
            placed.append((b, offset))
        return offsets

    # Several deterministic orders (TFLM's greedy-by-size among them); keep the
    # smallest arena, the first one on ties.
    orders = [
        sorted(bufs.values(), key=lambda b: (-aligned(b.size), b.first, b.root)),
        sorted(bufs.values(), key=lambda b: (-aligned(b.size), -b.first, b.root)),
        sorted(bufs.values(), key=lambda b: (-(b.last - b.first), -aligned(b.size), b.root)),
        sorted(bufs.values(), key=lambda b: (-aligned(b.size) * (b.last - b.first + 1), b.root)),
    ]
    # plus seeded random orders: first fit over permutations finds tighter
    # packings the fixed heuristics miss (deterministic: fixed seed)
    base = orders[0]
    rng = np.random.default_rng(0)
    trials = 300 if len(base) <= 64 else 40
    for _ in range(trials if len(base) > 2 else 0):
        orders.append([base[i] for i in rng.permutation(len(base))])
    best, arena = {}, None
    for order in orders:
        offsets = place(order)
        size = max((offsets[b.root] + aligned(b.size) for b in order), default=0)
        if arena is None or size < arena:
            best, arena = offsets, size
    for b in bufs.values():
        b.offset = best[b.root]
    arena = arena or 0
    return bufs, arena


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def _fuse(graph: Graph, layers: list[Layer], root_of: dict[int, int]) -> None:
    """Fold MAX_POOL_2D 1x2/2 VALID and MEAN over the width into the 1-D
    convolution that produces their input, when that convolution's output
    (through views) has no other reader and is not a graph output. The fused
    call computes exactly what the separate calls would (max and the clamp to
    the activation range commute; MEAN sums the same int8 values)."""
    out_roots = {root_of[t] for t in graph.outputs}
    changed = True
    while changed:
        changed = False
        live = [l for l in layers if l.kernel and not l.fused_into]
        for conv in live:
            if not conv.fusable or "mean" in conv.fused_kinds:
                continue
            r = root_of[conv.writes[0]]
            if r in out_roots:
                continue
            readers = [l for l in live if l is not conv and any(t >= 0 and root_of[t] == r for t in l.reads)]
            if len(readers) != 1:
                continue
            nxt = readers[0]
            kinds = conv.fused_kinds
            if nxt.op.kind == "MAX_POOL_2D" and not kinds:
                f = dict(nxt.fields)
                lo = max(get_field(conv, "act_min"), f["act_min"])
                hi = min(get_field(conv, "act_max"), f["act_max"])
                if (f["filter_h"], f["filter_w"], f["stride_h"], f["stride_w"], f["pad_top"], f["pad_left"]) != \
                        (1, 2, 1, 2, 0, 0) or nxt.op.options["padding"] != "VALID" or lo > hi:
                    continue
                if f["input"] != "{" + f"1, {get_field(conv, 'rows')}, {get_field(conv, 'out_w')}, " \
                        f"{get_field(conv, 'out_c')}" + "}" or get_field(conv, "in_w") == 1:
                    continue
                set_field(conv, "pool", 2)
                set_field(conv, "act_min", lo)
                set_field(conv, "act_max", hi)
                kinds.append("pool")
            elif nxt.op.kind == "MEAN" and get_field(conv, "rows") == 1 and get_field(conv, "in_w") > 1:
                f = dict(nxt.fields)
                out_c = get_field(conv, "out_c")
                out_wp = get_field(conv, "out_w") // get_field(conv, "pool")
                dims = [int(d) for d in f["dims"].strip("{}").split(",")]
                red = [int(d) for d in f["reduce"].strip("{}").split(",")]
                kept = [d for d, rr in zip(dims, red) if not rr]
                if dims[3] != out_c or red[3] or int(np.prod(kept)) != out_c or f["count"] != out_wp:
                    continue
                conv.extra_structs = [("tnn_mean_fuse", f"{conv.name}_mean", [
                    ("multiplier", f["multiplier"]), ("shift", f["shift"]),
                    ("output_zero_point", f["output_zero_point"])])]
                kinds.append("mean")
            else:
                continue
            conv.writes = list(nxt.writes)
            nxt.fused_into = conv.name
            conv.comment.append(f"  + fused operator #{nxt.op.index} {nxt.op.kind} ({nxt.name})")
            nxt.comment.append(f"  fused into {conv.name} (operator #{conv.op.index})")
            changed = True
            break


def lower(graph: Graph, class_names: list[str] | None = None, fuse: bool = True) -> Program:
    lw = _Lowerer(graph)
    layers = []
    n = 0
    for op in graph.ops:
        if op.kind not in VIEW_OPS:
            n += 1
        layer = lw.lower(op, n)
        layer.reads = list(op.inputs)
        layer.writes = list(op.outputs)
        layers.append(layer)
    root_of = _roots(graph)
    for o in graph.outputs:
        if graph.tensors[root_of[o]].is_const:
            raise TinyEcgError(f"{graph.source}: output '{graph.tensors[o].name}' is a constant")
    if fuse:
        _fuse(graph, layers, root_of)
    bufs, arena = plan_memory(graph, root_of, layers)
    if class_names is not None:
        n_out = graph.tensors[graph.outputs[0]].shape[-1] if graph.tensors[graph.outputs[0]].shape else 1
        if len(class_names) != n_out:
            raise TinyEcgError(
                f"{len(class_names)} class names given for a model with {n_out} outputs"
            )
    return Program(graph=graph, layers=layers, buffers=bufs, root_of=root_of, arena_bytes=arena,
                   class_names=class_names)


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _safe_comment(s: str) -> str:
    return s.replace("*/", "* /").replace("\n", " ")


def render(prog: Program, profile: bool = False) -> dict[str, str]:
    """Render the four generated files (name -> text).

    profile: model_invoke also records tnn_profile_clock() (the firmware's
    counter) after each kernel call in model_profile[] (bench.py --profile)."""
    g = prog.graph
    in_offsets, acc = {}, 0
    for i in g.inputs:
        in_offsets[prog.root_of[i]] = acc
        acc += g.tensors[i].nbytes
    const_inputs: list[CArray] = []
    const_names: dict[int, str] = {}

    def addr(t: int, layer: Layer) -> str:
        r = prog.root_of[t]
        if r in in_offsets:
            return f"in + {in_offsets[r]}"
        if r in prog.buffers:
            return f"arena.bytes + {prog.buffers[r].offset}"
        tensor = g.tensors[r]
        if tensor.is_const:
            if r not in const_names:
                if tensor.dtype != "int8":
                    raise TinyEcgError(f"{g.source}: {layer.op.where()}: constant data input '{tensor.name}' is {tensor.dtype}")
                const_names[r] = f"t{r}_const"
                const_inputs.append(CArray(const_names[r], "int8_t", tensor.data, f"constant t{r} {list(tensor.shape)}"))
            return const_names[r]
        raise TinyEcgError(f"{g.source}: tensor '{g.tensors[t].name}' is read but never written")

    calls = []
    nstep = 0
    for layer in prog.layers:
        if layer.kernel is None or layer.fused_into:
            calls.append({"layer": layer, "stmts": []})
            continue
        used = " ".join(layer.args + layer.pre)
        subst = {f"IN{k}": addr(t, layer) for k, t in enumerate(layer.reads) if t >= 0 and f"IN{k}" in used}
        subst["OUT0"] = addr(layer.writes[0], layer)
        subst["MEAN"] = f"&{layer.extra_structs[0][1]}" if layer.extra_structs else "0"
        args = [subst.get(a, a) for a in layer.args]
        pre = []
        for s in layer.pre:
            for k, v in sorted(subst.items(), key=lambda kv: -len(kv[0])):
                s = s.replace(k, v)
            pre.append(s)
        stmts = pre + [f"rc |= {layer.kernel}(&{layer.name}, {', '.join(args)});"]
        nstep += 1
        if profile:
            stmts.append(f"model_profile[{nstep}] = tnn_profile_clock();")
        calls.append({"layer": layer, "stmts": stmts})

    out_copies, acc = [], 0
    for o in g.outputs:
        t = g.tensors[o]
        out_copies.append((acc, addr(o, prog.layers[-1]) if prog.layers else "in + 0", t.nbytes, o))
        acc += t.nbytes

    mem_rows = []
    for b in sorted(prog.buffers.values(), key=lambda b: (b.offset, b.first)):
        t = g.tensors[b.root]
        mem_rows.append(
            f"t{b.root:<4} offset {b.offset:6d}  bytes {b.size:6d}  live ops {b.first}..{b.last}  {_safe_comment(t.name)[:60]}"
        )

    io = []
    for role, idxs in (("INPUT", g.inputs), ("OUTPUT", g.outputs)):
        for k, i in enumerate(idxs):
            t = g.tensors[i]
            s, zp = t.qparams()
            io.append({"role": role, "k": k, "t": t, "scale": f"{s:.9g}", "zp": zp,
                       "dims": ", ".join(str(d) for d in t.shape), "rank": len(t.shape),
                       "xdims": "x".join(str(d) for d in t.shape)})

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["c_string"] = _c_string
    env.filters["comment"] = _safe_comment
    ctx = {
        "prog": prog,
        "g": g,
        "source_name": Path(g.source).name,
        "layers": [layer for layer in prog.layers],
        "calls": calls,
        "const_inputs": const_inputs,
        "out_copies": out_copies,
        "mem_rows": mem_rows,
        "io": io,
        "arena_bytes": prog.arena_bytes,
        "profile": profile,
        "steps": prog.steps,
        "arena_alloc": max(prog.arena_bytes, ARENA_ALIGN),
    }
    return {name: env.get_template(name + ".j2").render(**ctx) for name in GENERATED_FILES}


def write(files: dict[str, str], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TinyEcgError(f"cannot create output directory {out}: {exc.strerror or exc}") from exc
    paths = []
    for name, text in files.items():
        p = out / name
        data = text.encode("utf-8")
        if not p.exists() or p.read_bytes() != data:
            p.write_bytes(data)
        paths.append(p)
    return paths


def generate(graph: Graph, out_dir: str | Path, class_names: list[str] | None = None,
             profile: bool = False) -> Program:
    prog = lower(graph, class_names)
    write(render(prog, profile), out_dir)
    return prog
