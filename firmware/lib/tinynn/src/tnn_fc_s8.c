/*
 * FULLY_CONNECTED, int8, per-channel or per-tensor weights, TNN_F_FAST layers
 * (see tinynn.h for the filter layout and the scratch size).
 *
 * Arithmetic: TFLM's FullyConnected integer result. The input offset is
 * folded into the bias at generation time (bias - zp * sum(w)), so every
 * output is bias + sum(w * x) over the raw int8 inputs, requantized. Each
 * row's constants come as three words (not a channel table record: a row
 * has few MACs, decoding a record would cost a sixth of them).
 *
 * Loop order: output rows in quads; per quad one pass over the input with
 * four accumulators. The weight rows are padded with zeros to a multiple of
 * four and the quad's rows interleaved in groups of four bytes, so the loop
 * reads one pointer, word-aligned, with no tail.
 *  - SIMD (Cortex-M DSP): the input is sign-extended to halfword pairs once
 *    per batch into the scratch ((x0,x2), (x1,x3) per group of four, zero
 *    padded) and reused by every quad; per group and row one weight word,
 *    SXTB16 and SXTB16 ROR 8, two SMLAD; two groups per iteration: 40
 *    instructions per 32 MACs with the loop's.
 *  - portable: each input byte is loaded once per quad, four multiplies.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

/*
 * Row oc's output from its accumulator without the bias, from the row's
 * three-word record {bias, multiplier, l1 | r << 8 | (r > 0) << 16}
 * (l1 = max(shift, 0) + 1, r = max(-shift, 0)): tnn_rq_fast's integer
 * (SMMULR(acc << l1, m), minus 1 when negative and r > 0, rounded shift
 * right by r), without decoding a channel table record.
 */
TNN_INLINE int8_t row_out(int32_t acc, const int32_t *t, int32_t zp, int32_t lo, int32_t hi)
{
    const int32_t w2 = t[2];
    const int32_t l1 = w2 & 0xFF, r = (w2 >> 8) & 0xFF, neg = (w2 >> 16) & 1;
    const int32_t a = (int32_t)((uint32_t)(acc + t[0]) << l1);
#if TNN_DSP
    int32_t x = tnn_smmulr(a, t[1]);
#else
    int32_t x = (int32_t)(((int64_t)a * t[1] + ((int64_t)1 << 31)) >> 32);
#endif
    x -= (x >> 31) & neg;
    x = ((x + (int32_t)((1u << r) >> 1)) >> r) + zp;
    return (int8_t)tnn_clamp(x, lo, hi);
}

#if TNN_DSP
/* x as halfword pairs, zero padded to d4 (a multiple of 4). */
static void unpack_input(const int8_t *x, int32_t depth, int32_t d4, int32_t *xs)
{
    int32_t i = 0;
    for (; i + 4 <= depth; i += 4) {
        const int32_t w = tnn_ld4(x + i);
        *xs++ = __sxtb16(w);
        *xs++ = tnn_sxtb16_ror8(w);
    }
    if (i < d4) { /* the last partial group, zeros beyond depth */
        uint32_t w = 0;
        for (int32_t k = 0; i + k < depth; k++) {
            w |= (uint32_t)(uint8_t)x[i + k] << (8 * k);
        }
        *xs++ = __sxtb16((int32_t)w);
        *xs++ = tnn_sxtb16_ror8((int32_t)w);
    }
}

/* One group of four inputs for four rows: 8 SXTB16 + 8 SMLAD. */
#define QUAD_GROUP(xs, w)                                                                  \
    do {                                                                                   \
        const int32_t x02 = (xs)[0], x13 = (xs)[1];                                        \
        const int32_t w0 = (w)[0], w1 = (w)[1], w2 = (w)[2], w3 = (w)[3];                  \
        a0 = __smlad(x02, __sxtb16(w0), a0);                                               \
        a0 = __smlad(x13, tnn_sxtb16_ror8(w0), a0);                                        \
        a1 = __smlad(x02, __sxtb16(w1), a1);                                               \
        a1 = __smlad(x13, tnn_sxtb16_ror8(w1), a1);                                        \
        a2 = __smlad(x02, __sxtb16(w2), a2);                                               \
        a2 = __smlad(x13, tnn_sxtb16_ror8(w2), a2);                                        \
        a3 = __smlad(x02, __sxtb16(w3), a3);                                               \
        a3 = __smlad(x13, tnn_sxtb16_ror8(w3), a3);                                        \
    } while (0)

#if defined(TNN_EMULATE_DSP)
#define QUAD_PAIR_ASM 0
#else
#define QUAD_PAIR_ASM 1
#endif

static __attribute__((noinline)) void quad_d(const int32_t *xs, const int8_t *w8, int32_t groups,
                                             int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    /* 4-aligned (the generator aligns the filter) */
    const int32_t *w = (const int32_t *)__builtin_assume_aligned(w8, 4);
#if QUAD_PAIR_ASM
/* One group of the loop below: 16 MACs over one pair of halfword inputs and
 * four weight words (two LDRDs), into the four row accumulators. */
#define FC_QUAD_GROUP_ASM \
    "ldrd   %[x02], %[x13], [%[xs]], #8\n\t" \
    "ldrd   %[wa], %[wb], [%[w]], #8\n\t" \
    "sxtb16 %[t], %[wa]\n\t" \
    "smlad  %[a0], %[x02], %[t], %[a0]\n\t" \
    "sxtb16 %[t], %[wa], ror #8\n\t" \
    "smlad  %[a0], %[x13], %[t], %[a0]\n\t" \
    "sxtb16 %[t], %[wb]\n\t" \
    "smlad  %[a1], %[x02], %[t], %[a1]\n\t" \
    "sxtb16 %[t], %[wb], ror #8\n\t" \
    "smlad  %[a1], %[x13], %[t], %[a1]\n\t" \
    "ldrd   %[wa], %[wb], [%[w]], #8\n\t" \
    "sxtb16 %[t], %[wa]\n\t" \
    "smlad  %[a2], %[x02], %[t], %[a2]\n\t" \
    "sxtb16 %[t], %[wa], ror #8\n\t" \
    "smlad  %[a2], %[x13], %[t], %[a2]\n\t" \
    "sxtb16 %[t], %[wb]\n\t" \
    "smlad  %[a3], %[x02], %[t], %[a3]\n\t" \
    "sxtb16 %[t], %[wb], ror #8\n\t" \
    "smlad  %[a3], %[x13], %[t], %[a3]\n\t"

    /* Two groups per iteration, written out: GCC 12 hoists all eight weight
     * loads of an unrolled C loop and spills accumulators. Here one pair of
     * halfword inputs and two weight words are live at a time (LDRD with
     * write-back): 38 instructions + the loop's 2 per 32 MACs. */
    int32_t n = groups >> 1;
    if (n > 0) {
        int32_t x02, x13, wa, wb, t;
        __asm__ volatile(
            "1:\n\t"
            FC_QUAD_GROUP_ASM
            FC_QUAD_GROUP_ASM
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xs] "+r"(xs), [w] "+r"(w),
              [n] "+r"(n), [x02] "=&r"(x02), [x13] "=&r"(x13), [wa] "=&r"(wa), [wb] "=&r"(wb),
              [t] "=&r"(t)
            :
            : "cc", "memory");
    }
#else
    for (int32_t g = groups >> 1; g > 0; g--) {
        QUAD_GROUP(xs, w);
        QUAD_GROUP(xs + 2, w + 4);
        xs += 4;
        w += 8;
    }
#endif
    if (groups & 1) {
        QUAD_GROUP(xs, w);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#undef QUAD_GROUP

static int32_t row_d(const int32_t *xs, const int8_t *w8, int32_t groups, int32_t a)
{
    const int32_t *w = (const int32_t *)__builtin_assume_aligned(w8, 4);
    for (int32_t g = groups; g > 0; g--) {
        const int32_t ww = *w++;
        a = __smlad(xs[0], __sxtb16(ww), a);
        a = __smlad(xs[1], tnn_sxtb16_ror8(ww), a);
        xs += 2;
    }
    return a;
}
#else
static void quad_c(const int8_t *x, const int8_t *w, int32_t depth, int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
    for (; i + 4 <= depth; i += 4) {
        for (int32_t k = 0; k < 4; k++) {
            const int32_t v = x[i + k];
            a0 += v * w[k];
            a1 += v * w[4 + k];
            a2 += v * w[8 + k];
            a3 += v * w[12 + k];
        }
        w += 16;
    }
    for (int32_t k = 0; i + k < depth; k++) { /* the partial last group */
        const int32_t v = x[i + k];
        a0 += v * w[k];
        a1 += v * w[4 + k];
        a2 += v * w[8 + k];
        a3 += v * w[12 + k];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

int tnn_fc_s8(const tnn_fc_params *p, const int8_t *input, const int8_t *filter,
              const int32_t *rows, int8_t *output, void *scratch)
{
    if (p == 0 || input == 0 || filter == 0 || rows == 0 || output == 0 ||
        !(p->flags & TNN_F_FAST)) {
        return TNN_ERR_ARG;
    }
    const int32_t depth = p->depth, out_c = p->out_c;
    const int32_t d4 = (depth + 3) & ~3;
    /* in locals: the int8 stores could alias the parameter struct */
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
#if TNN_DSP
    if (scratch == 0) {
        return TNN_ERR_ARG;
    }
    int32_t *xs = (int32_t *)scratch;
#else
    (void)scratch;
#endif
    const int32_t batches = p->batches;
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *x = input + b * depth;
        int8_t *y = output + b * out_c;
#if TNN_DSP
        unpack_input(x, depth, d4, xs);
#endif
        int32_t oc = 0;
        for (; oc + 4 <= out_c; oc += 4) {
            const int8_t *w = filter + oc * d4;
            int32_t acc[4] = {0, 0, 0, 0}; /* the bias joins at the end (exact: TNN_F_FAST) */
#if TNN_DSP
            quad_d(xs, w, d4 >> 2, acc);
#else
            quad_c(x, w, depth, acc);
#endif
            for (int32_t k = 0; k < 4; k++) {
                y[oc + k] = row_out(acc[k], rows + 3 * (oc + k), zp, lo, hi);
            }
        }
        for (; oc < out_c; oc++) { /* rows past the last quad, stored plainly */
            const int8_t *w = filter + oc * d4;
#if TNN_DSP
            const int32_t acc = row_d(xs, w, d4 >> 2, 0);
#else
            const int32_t acc = tnn_dot_s8(x, w, depth, 0);
#endif
            y[oc] = row_out(acc, rows + 3 * oc, zp, lo, hi);
        }
    }
    return TNN_OK;
}
