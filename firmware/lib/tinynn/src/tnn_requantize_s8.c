/*
 * QUANTIZE int8 -> int8 (TFLM reference_ops::Requantize):
 * out = clamp(MBQM(x - input_zp) + output_zp).
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"

int tnn_requantize_s8(const tnn_requantize_params *p, const int8_t *input, int8_t *output)
{
    if (p == 0 || input == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    for (int32_t i = 0; i < p->size; i++) {
        const int32_t v = tnn_multiply_by_quantized_multiplier(input[i] - p->input_zero_point,
                                                               p->multiplier, p->shift) +
                          p->output_zero_point;
        output[i] = (int8_t)tnn_clamp(v, -128, 127);
    }
    return TNN_OK;
}
