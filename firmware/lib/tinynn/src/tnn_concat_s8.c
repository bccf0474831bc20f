/*
 * CONCATENATION, int8: a byte copy (TFLM copies int8 data unchanged; the
 * converter gives all inputs the output's quantization).
 */
#include "tinynn.h"

int tnn_concat_s8(const tnn_concat_params *p, const int8_t *const *inputs, int8_t *output)
{
    if (p == 0 || inputs == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    for (int32_t o = 0; o < p->outer; o++) {
        for (int32_t i = 0; i < p->num_inputs; i++) {
            const int32_t n = p->chunk[i];
            const int8_t *src = inputs[i] + o * n;
            for (int32_t k = 0; k < n; k++) {
                *output++ = src[k];
            }
        }
    }
    return TNN_OK;
}
