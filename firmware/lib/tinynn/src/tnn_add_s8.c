/*
 * ADD, int8, with broadcasting (TFLM reference_integer_ops::AddFunc): both
 * inputs are shifted left by left_shift (20), rescaled to the larger input
 * scale, summed, rescaled to the output scale and clamped.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

static int32_t mul_smaller_than_one(int32_t x, int32_t multiplier, int32_t shift)
{
    /* MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0 */
    return tnn_rounding_divide_by_pot(tnn_sat_round_doubling_high_mul(x, multiplier), -shift);
}

/*
 * The same integers for inputs of the same shape (residual ADD), without the
 * 64-bit division. With left_shift 20 and |v| = |x + offset| <= 255 every
 * intermediate is small enough for the rounding-high-word shortcut to be
 * exact (no per-layer proof needed):
 *  - SaturatingRoundingDoublingHighMul(v * 2^20, m) = (v * 2^21 * m + 2^31) >> 32
 *    (gemmlowp's nudge and truncating division give the floor of x*m/2^31
 *    + 1/2 for either sign, v * 2^21 < 2^29 does not overflow and the
 *    saturating case INT32_MIN * INT32_MIN cannot occur);
 *  - RoundingDivideByPOT(t, r) = (t - [t < 0 and r > 0] + 2^(r-1)) >> r;
 *  - each scaled input is below 2^28 in magnitude, so 2 * (sum) < 2^30 and
 *    the output multiply takes the same form.
 * On the DSP path the high words are SMMULR; elsewhere a 32x32->64 multiply.
 */
typedef struct {
    int32_t m, negmask, half, r;
} add_rq;

static inline void add_rq_init(add_rq *q, int32_t multiplier, int32_t shift)
{
    q->m = multiplier;
    q->r = -shift;
    q->negmask = q->r > 0 ? INT32_MIN : 0;
    q->half = q->r > 0 ? (int32_t)(1u << (q->r - 1)) : 0;
}

/* RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x2 / 2, m), r). */
TNN_INLINE int32_t add_scale(int32_t x2, const add_rq *q)
{
#if TNN_DSP
    int32_t t = tnn_smmulr(x2, q->m);
#else
    int32_t t = (int32_t)(((int64_t)x2 * q->m + ((int64_t)1 << 31)) >> 32);
#endif
    t += (t & q->negmask) >> 31;
    return (t + q->half) >> q->r;
}

/* Below this many elements the tables cost more than they save. */
#define ADD_TABLE_MIN 1024

static void add_flat(const tnn_add_params *p, const int8_t *a, const int8_t *b, int8_t *out,
                     int32_t n)
{
    add_rq q1, q2, qo;
    add_rq_init(&q1, p->input1_multiplier, p->input1_shift);
    add_rq_init(&q2, p->input2_multiplier, p->input2_shift);
    add_rq_init(&qo, p->output_multiplier, p->output_shift);
    /* (x + offset) * 2^21 = x * 2^21 + offset * 2^21 */
    const int32_t off1 = (int32_t)((uint32_t)p->input1_offset << 21);
    const int32_t off2 = (int32_t)((uint32_t)p->input2_offset << 21);
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    if (n >= ADD_TABLE_MIN) {
        /* each rescaled input depends on its int8 value only: twice it, per
         * value, in two tables on the stack (2 KiB), so an element costs two
         * loads, an add and the output stage */
        int32_t t1[256], t2[256];
        for (int32_t v = -128; v < 128; v++) {
            t1[v + 128] = 2 * add_scale((int32_t)((uint32_t)v << 21) + off1, &q1);
            t2[v + 128] = 2 * add_scale((int32_t)((uint32_t)v << 21) + off2, &q2);
        }
        const int32_t *const s1 = t1 + 128, *const s2 = t2 + 128; /* indexed by the int8 value */
        for (int32_t i = 0; i < n; i++) {
            int32_t v = add_scale(s1[a[i]] + s2[b[i]], &qo) + zp;
            v = v < lo ? lo : v;
            out[i] = (int8_t)(v > hi ? hi : v);
        }
        return;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t x = add_scale((int32_t)((uint32_t)(int32_t)a[i] << 21) + off1, &q1);
        const int32_t y = add_scale((int32_t)((uint32_t)(int32_t)b[i] << 21) + off2, &q2);
        const int32_t v = add_scale((int32_t)((uint32_t)(x + y) << 1), &qo) + zp;
        out[i] = (int8_t)tnn_clamp(v, lo, hi);
    }
}

int tnn_add_s8(const tnn_add_params *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    if (p == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    /* both inputs dense in the output's shape: one flat loop */
    if (p->left_shift == 20 && p->input1_shift <= 0 && p->input2_shift <= 0 && p->output_shift <= 0) {
        int32_t n = 1, dense = 1;
        for (int32_t i = 3; i >= 0; i--) {
            const int32_t want = p->out_dims[i] > 1 ? n : 0;
            dense = dense && p->in1_strides[i] == want && p->in2_strides[i] == want;
            n *= p->out_dims[i];
        }
        if (dense) {
            add_flat(p, input1, input2, output, n);
            return TNN_OK;
        }
    }
    for (int32_t i0 = 0; i0 < p->out_dims[0]; i0++) {
        for (int32_t i1 = 0; i1 < p->out_dims[1]; i1++) {
            for (int32_t i2 = 0; i2 < p->out_dims[2]; i2++) {
                const int8_t *a = input1 + i0 * p->in1_strides[0] + i1 * p->in1_strides[1] +
                                  i2 * p->in1_strides[2];
                const int8_t *b = input2 + i0 * p->in2_strides[0] + i1 * p->in2_strides[1] +
                                  i2 * p->in2_strides[2];
                for (int32_t i3 = 0; i3 < p->out_dims[3]; i3++) {
                    const int32_t x = (a[i3 * p->in1_strides[3]] + p->input1_offset) *
                                      (1 << p->left_shift);
                    const int32_t y = (b[i3 * p->in2_strides[3]] + p->input2_offset) *
                                      (1 << p->left_shift);
                    const int32_t sum =
                        mul_smaller_than_one(x, p->input1_multiplier, p->input1_shift) +
                        mul_smaller_than_one(y, p->input2_multiplier, p->input2_shift);
                    const int32_t out =
                        mul_smaller_than_one(sum, p->output_multiplier, p->output_shift) +
                        p->output_zero_point;
                    *output++ = (int8_t)tnn_clamp(out, p->act_min, p->act_max);
                }
            }
        }
    }
    return TNN_OK;
}
