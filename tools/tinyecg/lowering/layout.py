"""Generation-time layout of constants for the kernels, and the per-layer
exactness proofs that decide which kernel may run a layer.

* channel tables: per output channel the multiplier, folded bias and shift in
  the fewest bytes that hold the layer (tinynn.h, tnn_chan_fmt);
* filter orders the SIMD loops read without shuffling;
* ``fast_ok``: the TNN_F_FAST bound under which the SMMULR/SMMLAR
  requantization shortcuts equal TFLM's arithmetic.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinyEcgError
from .base import CArray

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


def row_table(name: str, bias, mult, shift, comment: str) -> CArray:
    """tnn_fc_s8's per-row constants: three int32 per row {bias, multiplier,
    l1 | r << 8 | (r > 0) << 16}, l1 = max(shift, 0) + 1, r = max(-shift, 0)
    (requantization without decoding a channel table record)."""
    bias = np.asarray(bias, dtype=np.int64).reshape(-1)
    mult = np.asarray(mult, dtype=np.int64).reshape(-1)
    shift = np.asarray(shift, dtype=np.int64).reshape(-1)
    l1, r = np.maximum(shift, 0) + 1, np.maximum(-shift, 0)
    if l1.max() > 255 or r.max() > 31:
        raise TinyEcgError(f"{name}: shifts {int(shift.min())}..{int(shift.max())} out of range")
    mult = np.where(mult >= 1 << 31, mult - (1 << 32), mult)  # as int32
    rows = np.stack([bias, mult, l1 | (r << 8) | ((r > 0).astype(np.int64) << 16)], axis=1)
    return CArray(name, "int32_t", rows.reshape(-1),
                  f"{comment}; per row: bias, multiplier, l1 | r << 8 | (r > 0) << 16")


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


def quad_layout(w2d: np.ndarray) -> np.ndarray:
    """tnn_fc_s8 filter order: rows padded with zeros to a multiple of four
    taps; rows in quads, a quad's rows interleaved in groups of four bytes;
    the rows past the last quad plain (padded)."""
    oc, n = w2d.shape
    d4 = (n + 3) & ~3
    w = np.zeros((oc, d4), dtype=np.int64)
    w[:, :n] = w2d
    q = oc & ~3
    quads = w[:q].reshape(q // 4, 4, d4 // 4, 4).transpose(0, 2, 1, 3).reshape(-1)
    return np.concatenate([quads, w[q:].reshape(-1)])


def pair4_layout(w2d: np.ndarray) -> np.ndarray:
    """tnn_conv2d_s8 filter order: taps padded with zeros to a multiple of
    four, an odd out_c padded with a zero channel, channel pairs interleaved
    in groups of four taps."""
    oc, n = w2d.shape
    l4, oc2 = (n + 3) & ~3, oc + (oc & 1)
    w = np.zeros((oc2, l4), dtype=np.int64)
    w[:oc, :n] = w2d
    return w.reshape(oc2 // 2, 2, l4 // 4, 4).transpose(0, 2, 1, 3).reshape(-1)


def fast_bound(bias, w2d: np.ndarray, shift) -> np.ndarray:
    """Per channel, the largest |acc| * 2^(left shift + 1) the channel can reach
    (|bias| + 128 * sum|w|: inputs and padded taps are int8)."""
    bound = np.abs(np.asarray(bias, np.int64)) + 128 * np.abs(w2d.astype(np.int64)).sum(axis=1)
    left = np.maximum(np.asarray(shift, np.int64), 0)
    return bound << (left + 1)


def fast_ok(bias, w2d: np.ndarray, shift) -> bool:
    """TNN_F_FAST: |acc| * 2^(left shift + 1) < 2^31 for every accumulator a
    channel can reach. Under it the SIMD requantization (SMMULR) equals TFLM's
    for every input and requantization is monotone (a fused max pool may
    compare accumulators); layers without it are lowered to the general
    kernels."""
    return bool(np.all(fast_bound(bias, w2d, shift) < (1 << 31)))


def requant_stats(bias, w2d: np.ndarray, mult, shift) -> dict:
    """What a layer asks of the requantization shortcuts: the largest
    |acc| * 2^(lshift+1) / 2^31 (TNN_F_FAST holds below 1), the largest left
    and right shifts (SMMLAR needs a right shift <= 22, the depthwise halfword
    taps a left shift <= 6) and how many channels have a zero multiplier."""
    shift = np.asarray(shift, np.int64)
    return {
        "fast_ratio": float(fast_bound(bias, w2d, shift).max() / (1 << 31)),
        "max_lshift": int(max(shift.max(), 0)),
        "max_rshift": int(max(-shift.min(), 0)),
        "zero_multipliers": int((np.asarray(mult, np.int64) == 0).sum()),
    }
