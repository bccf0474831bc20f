/*
 * SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128), with TFLM's
 * reference arithmetic (reference_ops::Softmax, gemmlowp fixed point):
 *   diff = x - max(row)  scaled to Q5.26 by input_multiplier << input_left_shift
 *   e    = exp(diff)     in Q0.31 (exp_on_negative_values)
 *   sum  = sum(e)        in Q12.19
 *   out  = e / sum       via a Newton-Raphson reciprocal (one_over_one_plus_x)
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"

#define TNN_SOFTMAX_DIFF_INT_BITS 5   /* Q5.26 for the scaled differences */
#define TNN_SOFTMAX_ACCUM_INT_BITS 12 /* Q12.19 for the sum of exponentials */

/* Fixed-point product: raw SaturatingRoundingDoublingHighMul; integer bits add. */
static int32_t fp_mul(int32_t a, int32_t b)
{
    return tnn_sat_round_doubling_high_mul(a, b);
}

/* exp(a) for a in [-1/4, 0), a and result in Q0.31. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t constant_term = 1895147668;     /* exp(-1/8) in Q0.31 */
    const int32_t constant_1_over_3 = 715827883;  /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);              /* a + 1/8 */
    const int32_t x2 = fp_mul(x, x);
    const int32_t x3 = fp_mul(x2, x);
    const int32_t x4 = fp_mul(x2, x2);
    const int32_t x4_over_4 = tnn_rounding_divide_by_pot(x4, 2);
    const int32_t poly = tnn_rounding_divide_by_pot(
        fp_mul(x4_over_4 + x3, constant_1_over_3) + x2, 1);  /* x^4/24 + x^3/6 + x^2/2 */
    return constant_term + fp_mul(constant_term, x + poly);
}

/* exp(a) for a <= 0; a in Q5.26, result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    const int32_t frac_bits = 31 - TNN_SOFTMAX_DIFF_INT_BITS;  /* 26 */
    const int32_t one_quarter = 1 << (frac_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        tnn_sat_mul_by_pot(a_mod_quarter_minus_one_quarter, TNN_SOFTMAX_DIFF_INT_BITS));
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;

    /* multiply by exp(-2^k) for every bit k of the remaining (negated) input */
    static const int32_t exp_neg_pow2[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242,        /* exp(-16)  */
    };
    for (int32_t k = 0; k < 7; k++) {
        const int32_t exponent = k - 2;
        if (remainder & (1 << (frac_bits + exponent))) {
            result = fp_mul(result, exp_neg_pow2[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out (three Newton-Raphson steps). */
static int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    /* half_denominator = (a + 1) / 2, rounded (gemmlowp RoundingHalfSum) */
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t constant_48_over_17 = 1515870810;     /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
    const int32_t one_q2 = 1 << 29;
    int32_t x = constant_48_over_17 + fp_mul(half_denominator, constant_neg_32_over_17);
    for (int i = 0; i < 3; i++) {
        const int32_t half_denominator_times_x = fp_mul(half_denominator, x);   /* Q2 */
        const int32_t one_minus = one_q2 - half_denominator_times_x;           /* Q2 */
        x = x + tnn_sat_mul_by_pot(fp_mul(x, one_minus), 2);                   /* Q4 -> Q2 */
    }
    /* x / 2 as Q1, then rescaled to Q0 */
    return tnn_sat_mul_by_pot(x, 1);
}

static int32_t count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        n++;
    }
    return n;
}

int tnn_softmax_s8(const tnn_softmax_params *p, const int8_t *input, int8_t *output)
{
    if (p == 0 || input == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    for (int32_t i = 0; i < p->outer; i++) {
        const int8_t *x = input + i * p->depth;
        int8_t *y = output + i * p->depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < p->depth; c++) {
            max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        }

        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < p->depth; c++) {
            const int32_t diff = x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tnn_sat_round_doubling_high_mul(
                    diff * (1 << p->input_left_shift), p->input_multiplier);
                sum_of_exps += tnn_rounding_divide_by_pot(exp_on_negative_values(scaled),
                                                          TNN_SOFTMAX_ACCUM_INT_BITS);
            }
        }

        /* GetReciprocal: sum = 2^num_bits_over_unit * (1 + shifted_sum_minus_one) */
        const int32_t headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int32_t num_bits_over_unit = TNN_SOFTMAX_ACCUM_INT_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);

        for (int32_t c = 0; c < p->depth; c++) {
            const int32_t diff = x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tnn_sat_round_doubling_high_mul(
                    diff * (1 << p->input_left_shift), p->input_multiplier);
                const int32_t e = exp_on_negative_values(scaled);
                const int32_t unsat = tnn_rounding_divide_by_pot(
                    fp_mul(shifted_scale, e), num_bits_over_unit + 31 - 8);
                y[c] = (int8_t)tnn_clamp(unsat - 128, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
    return TNN_OK;
}
