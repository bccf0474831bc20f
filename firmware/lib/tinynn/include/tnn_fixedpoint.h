/*
 * tinynn fixed-point helpers: the integer arithmetic TFLM's reference kernels
 * use, written out in C99 so the generated models round exactly like the
 * tflite_micro interpreter.
 *
 * Conventions (same as TFLM):
 *  - a "quantized multiplier" is a Q0.31 significand in [2^30, 2^31) (or 0);
 *  - a "shift" is a power-of-two exponent: > 0 shifts left, < 0 shifts right.
 *  - MultiplyByQuantizedMultiplier uses double rounding: a saturating rounding
 *    doubling high multiply, then a rounding divide by a power of two.
 */
#ifndef TNN_FIXEDPOINT_H
#define TNN_FIXEDPOINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* (a * b * 2) >> 32, rounded to nearest (ties away from zero), saturating the
 * single overflow case INT32_MIN * INT32_MIN. gemmlowp's
 * SaturatingRoundingDoublingHighMul. */
static inline int32_t tnn_sat_round_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C division truncates toward zero, as gemmlowp relies on. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero. exponent in [0, 31].
 * gemmlowp's RoundingDivideByPOT. */
static inline int32_t tnn_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift, TFLM's (double-rounding) MultiplyByQuantizedMultiplier. */
static inline int32_t tnn_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
                                                           int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    /* Shift through uint32_t: wraps like the two's complement hardware does. */
    const int32_t x_shifted = (int32_t)((uint32_t)x << left_shift);
    return tnn_rounding_divide_by_pot(
        tnn_sat_round_doubling_high_mul(x_shifted, multiplier), right_shift);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent:
 * x * 2^exponent, saturated to the int32 range. */
static inline int32_t tnn_sat_mul_by_pot(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* Saturate an int32 to [lo, hi]. */
static inline int32_t tnn_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* acc + sum(a[i] * b[i]) for n int8 pairs; unrolled by four so the loop
 * overhead is paid once per four multiply-accumulates. */
static inline int32_t tnn_dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t acc)
{
    while (n >= 4) {
        acc += (int32_t)a[0] * b[0];
        acc += (int32_t)a[1] * b[1];
        acc += (int32_t)a[2] * b[2];
        acc += (int32_t)a[3] * b[3];
        a += 4;
        b += 4;
        n -= 4;
    }
    while (n > 0) {
        acc += (int32_t)*a++ * *b++;
        n--;
    }
    return acc;
}

/* sum(a[i]) for n int8 values. */
static inline int32_t tnn_sum_s8(const int8_t *a, int32_t n)
{
    int32_t s = 0;
    while (n-- > 0) {
        s += *a++;
    }
    return s;
}

#ifdef __cplusplus
}
#endif

#endif /* TNN_FIXEDPOINT_H */
