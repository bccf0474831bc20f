"""TFLM's quantization arithmetic, reproduced at generation time.

Every constant a kernel needs (multipliers, shifts, activation ranges,
padding, softmax and ADD scaling, MEAN's folded 1/count) is computed here the
way TFLM's Prepare() computes it, from float32 scales widened to double. The
lowering modules call these; nothing else computes a multiplier.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import TinyEcgError
from ..tflite_import import Tensor


def round_away(x: float) -> int:
    """std::round / TfLiteRound: half away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def f64(x) -> float:
    """A float32 scale widened to double, as TFLM's static_cast<double>."""
    return float(np.float32(x))


def wrap_i32(a: np.ndarray) -> np.ndarray:
    """Two's complement wrap to int32 (kept in int64 arrays)."""
    a = np.asarray(a, dtype=np.int64)
    return (((a + (1 << 31)) % (1 << 32)) - (1 << 31)).astype(np.int64)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier: m = q * 2^(shift - 31), q in [2^30, 2^31)."""
    if m == 0.0:
        return 0, 0
    q, shift = math.frexp(m)
    q_fixed = round_away(q * (1 << 31))
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


def channel_multipliers(s_in, filter_scales, s_out) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per-output-channel (multiplier, shift) of s_in * s_filter / s_out, as
    TFLM's conv / depthwise / per-channel FC Prepare computes them (double)."""
    return tuple(zip(*(quantize_multiplier(f64(s_in) * f64(fs) / f64(s_out)) for fs in filter_scales)))


def per_tensor_fc_multiplier(s_in, s_filter, s_out) -> tuple[int, int]:
    """TFLM GetQuantizedConvolutionMultipler (per-tensor FULLY_CONNECTED):
    the float32 product of the input and filter scales, then a double division."""
    return quantize_multiplier(float(np.float32(s_in) * np.float32(s_filter)) / f64(s_out))


def requantize_multiplier(s_in, s_out) -> tuple[int, int]:
    """QUANTIZE int8 -> int8 and MEAN: s_in / s_out in double."""
    return quantize_multiplier(f64(s_in) / f64(s_out))


def mean_multiplier(s_in, s_out, count: int) -> tuple[int, int]:
    """reference_ops::QuantizedMeanOrSum folds 1/count into the multiplier:
    shift = min(floor(log2 count), 32, 31 + shift)."""
    mult, shift = requantize_multiplier(s_in, s_out)
    sh = min(count.bit_length() - 1, 32, 31 + shift)
    mult = int((mult << sh) // count) if sh >= 0 else int((mult >> -sh) // count)
    return mult, shift - sh


ADD_LEFT_SHIFT = 20


def add_multipliers(s1, s2, s_out) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """TFLM CalculateOpDataAdd (int8): each input rescaled to twice the larger
    input scale, the sum to the output scale after a left shift of 20."""
    twice_max = 2.0 * f64(max(np.float32(s1), np.float32(s2)))
    return (quantize_multiplier(f64(s1) / twice_max),
            quantize_multiplier(f64(s2) / twice_max),
            quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * f64(s_out))))


SOFTMAX_INPUT_INTEGER_BITS = 5


def softmax_scaling(beta: float, s_in) -> tuple[float, int, int, int]:
    """PreprocessSoftmaxScaling (beta * scale * 2^26, capped at 2^31 - 1) and
    CalculateInputRadius: (real multiplier, multiplier, left shift, diff_min)."""
    bits = SOFTMAX_INPUT_INTEGER_BITS
    real = min(float(beta) * f64(s_in) * float(1 << (31 - bits)), float((1 << 31) - 1))
    if not real > 1.0:
        return real, 0, 0, 0
    mult, left_shift = quantize_multiplier(real)
    radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift))
    return real, mult, left_shift, -int(radius)


def activation_range(act: str, out: Tensor) -> tuple[int, int]:
    """TFLM CalculateActivationRangeQuantized for int8 (float32 division, std::round)."""
    scale, zp = np.float32(out.scale[0]), int(out.zero_point[0])

    def q(f: float) -> int:
        return zp + round_away(float(np.float32(f) / scale))

    if act == "NONE":
        return -128, 127
    if act == "RELU":
        return max(-128, q(0.0)), 127
    if act == "RELU6":
        return max(-128, q(0.0)), min(127, q(6.0))
    raise TinyEcgError(f"unsupported activation {act}")


def out_size(padding: str, size: int, k: int, stride: int, dilation: int = 1) -> int:
    """Output length along one axis (TFLite ComputeOutSize)."""
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size + stride - eff) // stride


def pad_before(size: int, k: int, stride: int, dilation: int, out: int) -> int:
    """Padding before the first element (TFLM ComputePaddingHeightWidth)."""
    eff = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2
