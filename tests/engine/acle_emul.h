/*
 * Portable C emulation of the few ACLE DSP intrinsics tinynn's SIMD kernels
 * use, so those code paths compile and run under host gcc (-DTNN_EMULATE_DSP)
 * and the parity suite covers them. Semantics from the Armv7-M ARM:
 *   SXTB16  sign-extend bytes 0 and 2 to two halfwords
 *   SMLAD   acc + lo*lo + hi*hi (signed halfwords, 32-bit wrapping sum)
 *   SMLABB / SMLATT / SMLABT / SMLATB  acc + one halfword of a times one
 *                    halfword of b (B = bottom, T = top; wrapping)
 *   QADD    saturating 32-bit add
 *   SXTAB16 acc + SXTB16(x), each halfword lane wrapping on its own
 */
#ifndef ACLE_EMUL_H
#define ACLE_EMUL_H

#include <stdint.h>

static inline int16_t acle_lo(int32_t x) { return (int16_t)(uint16_t)((uint32_t)x & 0xFFFFu); }
static inline int16_t acle_hi(int32_t x) { return (int16_t)(uint16_t)((uint32_t)x >> 16); }

static inline uint32_t __ror(uint32_t x, uint32_t n)
{
    n &= 31u;
    return n ? (x >> n) | (x << (32u - n)) : x;
}

static inline int32_t __sxtb16(uint32_t x)
{
    const int32_t b0 = (int8_t)(uint8_t)(x & 0xFFu);
    const int32_t b2 = (int8_t)(uint8_t)((x >> 16) & 0xFFu);
    return (int32_t)(((uint32_t)b0 & 0xFFFFu) | ((uint32_t)b2 << 16));
}

static inline int32_t acle_wrap_add(int32_t a, int64_t b)
{
    return (int32_t)(uint32_t)((uint64_t)(int64_t)a + (uint64_t)b);
}

static inline int32_t __smlad(int32_t a, int32_t b, int32_t acc)
{
    const int64_t p = (int64_t)acle_lo(a) * acle_lo(b) + (int64_t)acle_hi(a) * acle_hi(b);
    return acle_wrap_add(acc, p);
}

static inline int32_t __smlabb(int32_t a, int32_t b, int32_t acc)
{
    return acle_wrap_add(acc, (int64_t)acle_lo(a) * acle_lo(b));
}

static inline int32_t __smlatt(int32_t a, int32_t b, int32_t acc)
{
    return acle_wrap_add(acc, (int64_t)acle_hi(a) * acle_hi(b));
}

static inline int32_t __smlabt(int32_t a, int32_t b, int32_t acc)
{
    return acle_wrap_add(acc, (int64_t)acle_lo(a) * acle_hi(b));
}

static inline int32_t __smlatb(int32_t a, int32_t b, int32_t acc)
{
    return acle_wrap_add(acc, (int64_t)acle_hi(a) * acle_lo(b));
}

static inline int32_t __qadd(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

static inline int32_t __sxtab16(int32_t acc, uint32_t x)
{
    const int32_t e = __sxtb16(x);
    const uint32_t lo = ((uint32_t)acc + (uint32_t)e) & 0xFFFFu;
    const uint32_t hi = (((uint32_t)acc >> 16) + ((uint32_t)e >> 16)) & 0xFFFFu;
    return (int32_t)(lo | (hi << 16));
}

#endif /* ACLE_EMUL_H */
