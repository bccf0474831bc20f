/*
 * MEAN, int8, as the tflite_micro build we test against computes it for every
 * int8 MEAN (reference_ops::QuantizedMeanOrSum, also when input and output
 * share their quantization): (sum - count * input_zp) times a multiplier that
 * already holds 1/count, plus the output zero point, saturated to int8.
 * No scratch: each output element sums its own reduction window.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"

int tnn_mean_s8(const tnn_mean_params *p, const int8_t *input, int8_t *output)
{
    if (p == 0 || input == 0 || output == 0 || p->count <= 0) {
        return TNN_ERR_ARG;
    }
    int32_t stride[4];
    int32_t outer_n[4];   /* loop extent over kept axes (1 where reduced) */
    int32_t inner_n[4];   /* loop extent over reduced axes (1 where kept) */
    stride[3] = 1;
    for (int i = 2; i >= 0; i--) {
        stride[i] = stride[i + 1] * p->dims[i + 1];
    }
    for (int i = 0; i < 4; i++) {
        outer_n[i] = p->reduce[i] ? 1 : p->dims[i];
        inner_n[i] = p->reduce[i] ? p->dims[i] : 1;
    }
    for (int32_t o0 = 0; o0 < outer_n[0]; o0++) {
        for (int32_t o1 = 0; o1 < outer_n[1]; o1++) {
            for (int32_t o2 = 0; o2 < outer_n[2]; o2++) {
                for (int32_t o3 = 0; o3 < outer_n[3]; o3++) {
                    int32_t sum = 0;
                    for (int32_t r0 = 0; r0 < inner_n[0]; r0++) {
                        for (int32_t r1 = 0; r1 < inner_n[1]; r1++) {
                            for (int32_t r2 = 0; r2 < inner_n[2]; r2++) {
                                const int8_t *row = input + (o0 + r0) * stride[0] +
                                                    (o1 + r1) * stride[1] +
                                                    (o2 + r2) * stride[2] + o3;
                                for (int32_t r3 = 0; r3 < inner_n[3]; r3++) {
                                    sum += row[r3];
                                }
                            }
                        }
                    }
                    const int32_t out =
                        tnn_multiply_by_quantized_multiplier(sum - p->input_zero_point * p->count,
                                                             p->multiplier, p->shift) +
                        p->output_zero_point;
                    *output++ = (int8_t)tnn_clamp(out, -128, 127);
                }
            }
        }
    }
    return TNN_OK;
}
