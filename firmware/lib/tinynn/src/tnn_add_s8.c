/*
 * ADD, int8, with broadcasting (TFLM reference_integer_ops::AddFunc): both
 * inputs are shifted left by left_shift (20), rescaled to the larger input
 * scale, summed, rescaled to the output scale and clamped.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"

static int32_t mul_smaller_than_one(int32_t x, int32_t multiplier, int32_t shift)
{
    /* MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0 */
    return tnn_rounding_divide_by_pot(tnn_sat_round_doubling_high_mul(x, multiplier), -shift);
}

int tnn_add_s8(const tnn_add_params *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    if (p == 0 || input1 == 0 || input2 == 0 || output == 0) {
        return TNN_ERR_ARG;
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
