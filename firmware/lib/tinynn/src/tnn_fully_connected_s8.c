/*
 * FULLY_CONNECTED, int8, per-tensor or per-channel weights (zero point 0).
 * TFLM: acc = bias + sum(w * (x - input_zero_point)); the input-offset term is
 * folded into the bias at generation time, leaving a plain dot product.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"

int tnn_fully_connected_s8(const tnn_fc_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias_folded, int8_t *output)
{
    if (p == 0 || input == 0 || weights == 0 || bias_folded == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *x = input + b * p->accum_depth;
        for (int32_t oc = 0; oc < p->out_depth; oc++) {
            int32_t acc = tnn_dot_s8(x, weights + oc * p->accum_depth, p->accum_depth,
                                     bias_folded[oc]);
            acc = tnn_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]);
            acc += p->output_zero_point;
            *output++ = (int8_t)tnn_clamp(acc, p->act_min, p->act_max);
        }
    }
    return TNN_OK;
}
