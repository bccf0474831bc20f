"""One small model per operator and option (built with TF, full-int8 converted,
or hand-built where the converter never emits the op): the generated C must
equal tflite_micro byte for byte on random inputs, including the extremes."""

import numpy as np
import pytest

import engine_util as eu
from tinyecg import codegen

tfm = pytest.importorskip("tf_models")
import fb_build  # noqa: E402

_rng = np.random.default_rng(2024)


def _r(lo, hi):
    return int(_rng.integers(lo, hi + 1))


# (id, builder, operators that must be in the model, option checks)
CASES = []


def case(cid, builder, kinds, **expect):
    CASES.append(pytest.param(builder, kinds, expect, id=cid))


# CONV_2D: kernel sizes, strides, dilation, SAME/VALID, activations, channels, per-tensor/per-channel
for i, (stride, dil, pad, act, pc) in enumerate([
    ((1, 1), (1, 1), "SAME", "RELU", True),
    ((1, 2), (1, 1), "SAME", "NONE", True),
    ((2, 2), (1, 1), "VALID", "RELU6", True),
    ((1, 1), (2, 2), "SAME", "RELU", True),
    ((1, 1), (1, 3), "VALID", "NONE", True),
    ((2, 1), (1, 1), "SAME", "RELU6", False),
    ((1, 1), (1, 1), "VALID", "NONE", False),
    ((3, 2), (1, 1), "SAME", "NONE", True),
]):
    h, w, cin, cout, kh, kw = _r(1, 7), _r(6, 20), _r(1, 6), _r(1, 9), _r(1, 4), _r(1, 5)
    kh, h = (1, 1) if i % 3 == 0 else (kh, max(h, (kh - 1) * dil[0] + 1))
    w = max(w, (kw - 1) * dil[1] + 1)
    case(f"conv-{i}-{h}x{w}x{cin}-k{kh}x{kw}-s{stride[0]}{stride[1]}-d{dil[0]}{dil[1]}-{pad}-{act}-{'pc' if pc else 'pt'}",
         lambda a=(i, h, w, cin, cout, kh, kw, stride, dil, pad, act, pc): tfm.conv2d(*a[:11], per_channel=a[11]),
         ["CONV_2D"], padding=pad, per_channel=pc)

# tnn_conv2d_s8 (im2col matrix multiply): first layers over 1-3 channels,
# 3x3 stride 2, 1x1 pointwise over several rows, odd channel counts, taps not
# a multiple of 4, an odd pixel count
for i, (h, w, cin, cout, kh, kw, stride, pad, act, pc) in enumerate([
    (7, 9, 3, 5, 3, 3, (2, 2), "SAME", "RELU", True),
    (11, 5, 1, 6, 5, 2, (2, 1), "VALID", "RELU6", True),
    (3, 5, 7, 9, 1, 1, (1, 1), "VALID", "RELU", True),
    (5, 7, 6, 4, 1, 1, (2, 2), "SAME", "NONE", False),
    (4, 6, 2, 3, 3, 2, (1, 1), "SAME", "NONE", True),
]):
    case(f"conv2d-{i}-{h}x{w}x{cin}-k{kh}x{kw}-s{stride[0]}{stride[1]}-{pad}-{act}-{'pc' if pc else 'pt'}",
         lambda a=(i + 50, h, w, cin, cout, kh, kw, stride, (1, 1), pad, act, pc): tfm.conv2d(*a[:11], per_channel=a[11]),
         ["CONV_2D"], padding=pad, per_channel=pc)

# DEPTHWISE_CONV_2D: depth multiplier, strides, dilation, padding, activations
for i, (mult, stride, dil, pad, act) in enumerate([
    (1, (1, 1), (1, 1), "SAME", "RELU"),
    (2, (1, 1), (1, 1), "VALID", "NONE"),
    (1, (2, 2), (1, 1), "SAME", "RELU6"),
    (1, (1, 1), (1, 2), "SAME", "NONE"),
    (3, (1, 2), (1, 1), "VALID", "RELU"),
]):
    h, w, c, kh, kw = _r(1, 6), _r(7, 16), _r(1, 5), _r(1, 3), _r(1, 5)
    h = max(h, kh)
    case(f"dwconv-{i}-{h}x{w}x{c}-m{mult}-k{kh}x{kw}-s{stride[0]}{stride[1]}-d{dil[1]}-{pad}-{act}",
         lambda a=(i + 100, h, w, c, mult, kh, kw, stride, dil, pad, act): tfm.depthwise(*a),
         ["DEPTHWISE_CONV_2D"], padding=pad)

# 1 x 5, stride 1, ReLU: the specialised depthwise path (two outputs per step,
# zp-padded borders, odd widths, several rows, VALID, narrower than the kernel)
for i, (h, w, c, pad, act) in enumerate([
    (1, 16, 5, "SAME", "RELU"),
    (3, 7, 3, "SAME", "RELU"),
    (1, 9, 4, "VALID", "RELU"),
    (1, 3, 6, "SAME", "RELU"),
    (2, 6, 8, "VALID", "RELU"),
    (1, 11, 4, "SAME", "NONE"),
]):
    case(f"dwconv-k5-{i}-{h}x{w}x{c}-{pad}-{act}",
         lambda a=(i + 150, h, w, c, 1, 1, 5, (1, 1), (1, 1), pad, act): tfm.depthwise(*a),
         ["DEPTHWISE_CONV_2D"], padding=pad)

# 2-D depthwise fast path (tnn_dwconv2d_s8): 3x3 stride 1/2 SAME/VALID, 5x5,
# k x 1 along the height, 2x2, an image smaller than the kernel (all border),
# odd channel counts (the SIMD path's leftover channels); multiplier > 1 and
# dilation fall back to the reference (cases above)
for i, (h, w, c, kh, kw, stride, pad, act) in enumerate([
    (6, 7, 5, 3, 3, (1, 1), "SAME", "RELU"),
    (9, 8, 8, 3, 3, (2, 2), "SAME", "RELU"),
    (5, 6, 12, 3, 3, (1, 1), "VALID", "NONE"),
    (7, 9, 7, 3, 3, (2, 2), "VALID", "RELU6"),
    (7, 8, 6, 5, 5, (1, 1), "SAME", "RELU"),
    (8, 5, 9, 5, 5, (2, 1), "SAME", "NONE"),
    (10, 2, 8, 3, 1, (1, 1), "VALID", "RELU"),
    (6, 6, 4, 2, 2, (2, 2), "SAME", "RELU"),
    (2, 2, 4, 3, 3, (1, 1), "SAME", "RELU"),
]):
    case(f"dwconv2d-{i}-{h}x{w}x{c}-k{kh}x{kw}-s{stride[0]}{stride[1]}-{pad}-{act}",
         lambda a=(i + 170, h, w, c, 1, kh, kw, stride, (1, 1), pad, act): tfm.depthwise(*a),
         ["DEPTHWISE_CONV_2D"], padding=pad, kernel="tnn_dwconv2d_s8")
# k x 1 over an image one pixel wide (streaming audio's time axis): the 1-D kernel along the height
for i, (h, c, kh, stride, pad) in enumerate([(12, 8, 3, 1, "VALID"), (11, 6, 5, 2, "SAME")]):
    case(f"dwconv-tall-{i}-{h}x1x{c}-k{kh}x1-s{stride}-{pad}",
         lambda a=(i + 190, h, 1, c, 1, kh, 1, (stride, 1), (1, 1), pad, "RELU"): tfm.depthwise(*a),
         ["DEPTHWISE_CONV_2D"], padding=pad, kernel="tnn_dwconv1d_s8")

# FULLY_CONNECTED: per-channel / per-tensor weights, batches, activations
for i, (shape, units, act, pc) in enumerate([
    ((1, 16), 5, "RELU", True),
    ((1, 33), 7, "NONE", False),
    ((1, 4, 12), 3, "RELU6", True),
    ((1, 3, 10), 6, "NONE", False),
    ((1, 64), 14, "RELU", True),
]):
    case(f"fc-{i}-{'x'.join(map(str, shape))}-u{units}-{act}-{'pc' if pc else 'pt'}",
         lambda a=(i + 200, shape, units, act, pc): tfm.dense(*a[:4], per_channel=a[4]),
         ["FULLY_CONNECTED"], per_channel=pc)

# pooling
for i, (kind, k, stride, pad) in enumerate([
    ("max", (1, 2), (1, 2), "VALID"), ("max", (3, 3), (2, 2), "SAME"), ("max", (2, 3), (1, 1), "SAME"),
    ("avg", (1, 3), (1, 2), "SAME"), ("avg", (3, 2), (2, 2), "VALID"), ("avg", (2, 2), (1, 1), "SAME"),
]):
    h, w, c = _r(max(k[0], 1), 7), _r(max(k[1], 4), 15), _r(1, 6)
    op = "MAX_POOL_2D" if kind == "max" else "AVERAGE_POOL_2D"
    case(f"{kind}pool-{i}-{h}x{w}x{c}-k{k[0]}x{k[1]}-s{stride[0]}{stride[1]}-{pad}",
         lambda a=(i + 300, kind, h, w, c, k[0], k[1], stride, pad): tfm.pool(*a), [op], padding=pad)

# MEAN: axes, keep_dims, different and equal quantization
case("mean-axes12", lambda: tfm.mean(400, (1, 5, 7, 3), [1, 2], False), ["MEAN"])
case("mean-axis1-keep", lambda: tfm.mean(401, (1, 33, 4), [1], True), ["MEAN"])
case("mean-last", lambda: tfm.mean(402, (1, 6, 9), [-1], False), ["MEAN"])
case("mean-same-quant", lambda: fb_build.mean_model([1, 5, 7, 3], [1, 2], True, 0.05, 4, 0.05, 4), ["MEAN"])
case("mean-same-quant-neg", lambda: fb_build.mean_model([1, 9, 6], [1], False, 0.02, -5, 0.02, -5), ["MEAN"])

# SOFTMAX: input scales (beta * scale), depths
case("softmax-5", lambda: tfm.softmax(500, (1, 5), 1.0), ["SOFTMAX"])
case("softmax-wide", lambda: tfm.softmax(501, (1, 37), 6.0), ["SOFTMAX"])
case("softmax-rows", lambda: tfm.softmax(502, (1, 4, 10), 0.3), ["SOFTMAX"])

# ADD: same shape, broadcast, scales, activation (two-input models: inputs concatenated)
case("add-same", lambda: tfm.add(600, (1, 4, 5, 3), (1, 4, 5, 3), "NONE", (1.0, 3.0)), ["ADD"])
case("add-relu", lambda: tfm.add(601, (1, 20), (1, 20), "RELU", (0.5, 0.7)), ["ADD"])
case("add-broadcast-c", lambda: tfm.add(602, (1, 4, 5, 3), (1, 1, 1, 3), "NONE", (1.0, 2.0)), ["ADD"])
case("add-broadcast-rows", lambda: tfm.add(603, (1, 6, 4), (1, 1, 4), "RELU6", (2.0, 1.0)), ["ADD"])

# CONCATENATION: axes, two and three inputs
case("concat-last", lambda: tfm.concat(700, [(1, 6, 2), (1, 6, 3)], -1, (1.0, 4.0)), ["CONCATENATION"])
case("concat-axis1", lambda: tfm.concat(701, [(1, 3, 4), (1, 5, 4), (1, 2, 4)], 1, (1.0, 1.0, 2.0)),
     ["CONCATENATION"])

# PAD
case("pad-3d", lambda: tfm.pad(800, (1, 5, 3), [[0, 0], [2, 1], [0, 1]]), ["PAD"])
case("pad-4d", lambda: tfm.pad(801, (1, 4, 6, 2), [[0, 0], [1, 1], [0, 3], [0, 0]]), ["PAD"])

# QUANTIZE int8 -> int8 (requantize)
case("quantize-down", lambda: fb_build.quantize_model([1, 40], 0.05, 3, 0.031, -7), ["QUANTIZE"])
case("quantize-up", lambda: fb_build.quantize_model([1, 3, 17], 0.05, 3, 0.11, 20), ["QUANTIZE"])

# views
case("views-reshape", lambda: tfm.views(900, (1, 12, 2)), ["RESHAPE", "CONV_2D", "FULLY_CONNECTED"])
case("views-expand-squeeze", lambda: fb_build.view_chain_model([1, 10, 3]),
     ["EXPAND_DIMS", "MAX_POOL_2D", "SQUEEZE"])


@pytest.mark.parametrize("builder,kinds,expect", CASES)
def test_operator_parity(builder, kinds, expect, tmp_path, kernel_variants, record_property):
    """Both kernel paths (portable, and SIMD with emulated intrinsics) equal tflite_micro."""
    model = builder()
    graph, ref, gots = eu.parity(model, tmp_path, n_random=150, kernel_objs=kernel_variants)
    ops = [op.kind for op in graph.ops]
    for k in kinds:  # the model really exercises what the case names
        assert k in ops, f"{k} not in {ops}"
    main = next(op for op in graph.ops if op.kind == kinds[0])
    if "padding" in expect:
        assert main.options["padding"] == expect["padding"]
    if "per_channel" in expect:
        w = graph.tensors[main.inputs[1]]
        assert (len(w.scale) > 1) == expect["per_channel"], f"weights have {len(w.scale)} scales"
    if "kernel" in expect:  # the lowering picked the kernel the case is about
        layer = next(layer for layer in codegen.lower(graph).layers if layer.op.index == main.index)
        assert layer.kernel == expect["kernel"]
    for variant, got in gots.items():
        bad = np.nonzero((ref != got).any(axis=1))[0]
        assert bad.size == 0, (
            f"{variant}: {bad.size} of {len(ref)} inputs differ; first: row {bad[0]} "
            f"ref {ref[bad[0]][:16]} got {got[bad[0]][:16]}"
        )
    record_property("vectors", len(ref))
    record_property("target", "host x86-64 (gcc)")
    record_property("kernels", ", ".join(sorted(gots)))
