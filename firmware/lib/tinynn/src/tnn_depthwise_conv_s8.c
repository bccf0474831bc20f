/*
 * DEPTHWISE_CONV_2D, int8, per-channel weights. A direct transcription of the
 * TFLM reference arithmetic (reference_integer_ops::DepthwiseConvPerChannel):
 * output channel oc = ic * depth_multiplier + m sums
 * filter[ky][kx][oc] * (input[iy][ix][ic] + input_offset) over taps inside the
 * image, adds the bias, requantizes per channel and clamps.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

int tnn_depthwise_conv_s8(const tnn_depthwise_conv_params *p, const int8_t *input,
                          const int8_t *filter, const uint8_t *chan, int8_t *output)
{
    if (p == 0 || input == 0 || filter == 0 || chan == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    const int32_t in_h = p->input.h;
    const int32_t in_w = p->input.w;
    const int32_t in_c = p->input.c;
    const int32_t out_c = p->output.c;
    const int32_t dm = p->depth_multiplier;

    for (int32_t b = 0; b < p->output.n; b++) {
        const int8_t *in_batch = input + b * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < p->output.h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ky_lo, ky_hi;
            tnn_valid_taps(iy0, p->dilation_h, in_h, p->kernel_h, &ky_lo, &ky_hi);
            for (int32_t ox = 0; ox < p->output.w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t kx_lo, kx_hi;
                tnn_valid_taps(ix0, p->dilation_w, in_w, p->kernel_w, &kx_lo, &kx_hi);
                for (int32_t ic = 0; ic < in_c; ic++) {
                    for (int32_t m = 0; m < dm; m++) {
                        const int32_t oc = ic * dm + m;
                        tnn_rq q;
                        tnn_rq_load(chan, &p->chan, oc, &q);
                        int32_t acc = q.bias;
                        for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
                            const int32_t iy = iy0 + ky * p->dilation_h;
                            for (int32_t kx = kx_lo; kx < kx_hi; kx++) {
                                const int32_t ix = ix0 + kx * p->dilation_w;
                                const int32_t x = in_batch[(iy * in_w + ix) * in_c + ic];
                                const int32_t w = filter[(ky * p->kernel_w + kx) * out_c + oc];
                                acc += w * (x + p->input_offset);
                            }
                        }
                        acc = tnn_rq_ref(acc, &q);
                        acc += p->output_zero_point;
                        *output++ = (int8_t)tnn_clamp(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return TNN_OK;
}
