/* Internal helpers shared by the tinynn kernels. */
#ifndef TNN_INTERNAL_H
#define TNN_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "tinynn.h"
#include "tnn_fixedpoint.h"

/*
 * SIMD selection. TNN_DSP is 1 when the kernels use the Cortex-M DSP
 * extension: on targets with __ARM_FEATURE_DSP (ACLE intrinsics from
 * <arm_acle.h>), or on the host with -DTNN_EMULATE_DSP, where a portable C
 * emulation of the same intrinsics (tests/engine/acle_emul.h) is included so
 * the SIMD code paths run under host gcc in the parity tests.
 * -DTNN_PORTABLE forces the portable paths everywhere.
 */
#if defined(TNN_PORTABLE)
#define TNN_DSP 0
#elif defined(TNN_EMULATE_DSP)
#include "acle_emul.h"
#define TNN_DSP 1
static inline int32_t tnn_sxtb16_ror8(int32_t x)
{
    return __sxtb16(__ror((uint32_t)x, 8));
}
static inline int32_t tnn_smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}
static inline int32_t tnn_smmlar(int32_t a, int32_t b, int32_t c)
{
    return (int32_t)((uint32_t)c + (uint32_t)tnn_smmulr(a, b));
}
static inline int32_t tnn_ssat8(int32_t x)
{
    return x < -128 ? -128 : (x > 127 ? 127 : x);
}
static inline int32_t tnn_pack16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TNN_DSP 1
/* SXTB16 with its rotate operand: GCC 12 does not fold a rotate into
 * __sxtb16, so this one instruction is written out. */
static inline int32_t tnn_sxtb16_ror8(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* SMMULR: (a * b + 2^31) >> 32, the rounding most-significant-word multiply. */
static inline int32_t tnn_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* SMMLAR: c + ((a * b + 2^31) >> 32) (exact: c is added as c * 2^32). */
static inline int32_t tnn_smmlar(int32_t a, int32_t b, int32_t c)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
/* SSAT #8: saturate to [-128, 127] (GCC emits compares for the C clamp). */
static inline int32_t tnn_ssat8(int32_t x)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(x));
    return r;
}
/* PKHBT: lo's bottom halfword, hi's bottom halfword on top. */
static inline int32_t tnn_pack16(int32_t lo, int32_t hi)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
#else
#define TNN_DSP 0
#endif

#if TNN_DSP
/* Four int8 as one word, any alignment (LDR on Cortex-M4/M7). */
static inline int32_t tnn_ld4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
#endif

/* Range [*lo, *hi) of tap indices k in [0, taps) whose input coordinate
 * origin + k * dilation lies inside [0, size). */
static inline void tnn_valid_taps(int32_t origin, int32_t dilation, int32_t size, int32_t taps,
                                  int32_t *lo, int32_t *hi)
{
    int32_t a = 0;
    int32_t b = taps;
    if (origin < 0) {
        a = (-origin + dilation - 1) / dilation;
    }
    if (origin + (taps - 1) * dilation >= size) {
        b = size > origin ? (size - origin + dilation - 1) / dilation : 0;
    }
    if (a > taps) {
        a = taps;
    }
    if (b < a) {
        b = a;
    }
    *lo = a;
    *hi = b;
}

/* One output channel's constants, decoded from the channel table. */
typedef struct {
    int32_t bias;
    int32_t mult;
    int32_t shift;     /* TFLM exponent: > 0 left, < 0 right */
    int32_t lshift;    /* max(shift, 0) */
    int32_t lshift1;   /* lshift + 1 */
    int32_t rshift;    /* max(-shift, 0) */
    int32_t half;      /* rshift > 0 ? 2^(rshift-1) : 0 */
    int32_t negmask;   /* rshift > 0 ? INT32_MIN : 0 */
} tnn_rq;

static inline void tnn_rq_load(const uint8_t *chan, const tnn_chan_fmt *f, int32_t oc, tnn_rq *q)
{
    const int32_t nb = f->bytes;
    const uint8_t *r = chan + oc * (4 + nb);
    uint32_t m;
    memcpy(&m, r, 4);
    q->mult = (int32_t)m;
    int32_t bias, low;
    if (nb <= 4) {
        /* the record's last four bytes end with v: an arithmetic shift
         * sign-extends it (one word load instead of a byte loop) */
        uint32_t u;
        memcpy(&u, r + nb, 4);
        const int32_t v = (int32_t)u >> (32 - 8 * nb);
        bias = v >> f->bits;
        low = v & ((1 << f->bits) - 1);
    } else {
        uint64_t u = 0;
        for (int32_t i = nb - 1; i >= 0; i--) {
            u = (u << 8) | r[4 + i];
        }
        const int32_t nbits = 8 * nb;
        int64_t v = (int64_t)(u << (64 - nbits)) >> (64 - nbits); /* sign-extend */
        bias = (int32_t)(v >> f->bits);
        low = (int32_t)(v & ((1 << f->bits) - 1));
    }
    q->bias = bias;
    q->shift = f->shift_base + low;
    q->lshift = q->shift > 0 ? q->shift : 0;
    q->lshift1 = q->lshift + 1;
    q->rshift = q->shift > 0 ? 0 : -q->shift;
    q->half = q->rshift > 0 ? (int32_t)(1u << (q->rshift - 1)) : 0;
    q->negmask = q->rshift > 0 ? INT32_MIN : 0;
}

/* acc requantized: TFLM MultiplyByQuantizedMultiplier, reference form. */
static inline int32_t tnn_rq_ref(int32_t acc, const tnn_rq *q)
{
    return tnn_multiply_by_quantized_multiplier(acc, q->mult, q->shift);
}

#if TNN_DSP
/*
 * The same integer in four instructions, for layers whose accumulators obey
 * |acc| * 2^(lshift + 1) < 2^31 (tnn_conv1d_s8 / tnn_dwconv1d_s8 require it;
 * the generator proves it from the weights and biases and sets TNN_F_FAST):
 *  - gemmlowp's SaturatingRoundingDoublingHighMul(x, m) = (x*m + 2^30) >> 31
 *    (floor) for m >= 0, which is (2x*m + 2^31) >> 32 = SMMULR(2x, m);
 *  - rounding x / 2^r half away from zero = (x - [x < 0] + 2^(r-1)) >> r,
 *    no overflow since |x| < 2^30.
 */
static inline int32_t tnn_rq_fast(int32_t acc, const tnn_rq *q)
{
    int32_t x = tnn_smmulr((int32_t)((uint32_t)acc << q->lshift1), q->mult);
    x += (x & q->negmask) >> 31;
    return (x + q->half) >> q->rshift;
}
#define TNN_RQ(acc, q) tnn_rq_fast((acc), (q))
#else
/* The same integer without SMMULR: the rounded high word of a 64-bit product
 * (SMULL and an add on Cortex-M3), under the same TNN_F_FAST bound. */
static inline int32_t tnn_rq_fast(int32_t acc, const tnn_rq *q)
{
    const int64_t a = (int32_t)((uint32_t)acc << q->lshift1);
    int32_t x = (int32_t)((a * q->mult + ((int64_t)1 << 31)) >> 32);
    x += (x & q->negmask) >> 31;
    return (x + q->half) >> q->rshift;
}
#define TNN_RQ(acc, q) tnn_rq_fast((acc), (q))
#endif

#define TNN_INLINE static inline __attribute__((always_inline))

#endif /* TNN_INTERNAL_H */
