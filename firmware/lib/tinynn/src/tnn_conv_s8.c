/*
 * CONV_2D, int8 activations, int8 per-channel weights, int32 bias.
 *
 * TFLM reference (reference_integer_ops::ConvPerChannel) computes, per output
 * element, acc = bias + sum over taps inside the image of
 * filter * (input - input_zero_point), then requantizes. We compute the same
 * integer: the input-offset term is folded into the bias at generation time
 * (bias_folded = bias - zp * sum(filter)), and taps that fall in the padding
 * contribute filter * zp, which cancels their share of the folded term.
 * The inner loop is then a plain int8 dot product over contiguous memory.
 * General kernel (any kernel size, stride, dilation); 1 x k convolutions
 * use tnn_conv1d_s8.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

int tnn_conv_s8(const tnn_conv_params *p, const int8_t *input, const int8_t *filter,
                const uint8_t *chan, int8_t *output)
{
    if (p == 0 || input == 0 || filter == 0 || chan == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    const int32_t in_h = p->input.h;
    const int32_t in_w = p->input.w;
    const int32_t in_c = p->input.c;
    const int32_t out_c = p->output.c;
    const int32_t k_h = p->kernel_h;
    const int32_t k_w = p->kernel_w;
    const int32_t filter_oc_size = k_h * k_w * in_c;
    const int32_t zp = p->input_zero_point;

    for (int32_t b = 0; b < p->output.n; b++) {
        const int8_t *in_batch = input + b * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < p->output.h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ky_lo, ky_hi;
            tnn_valid_taps(iy0, p->dilation_h, in_h, k_h, &ky_lo, &ky_hi);
            for (int32_t ox = 0; ox < p->output.w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t kx_lo, kx_hi;
                tnn_valid_taps(ix0, p->dilation_w, in_w, k_w, &kx_lo, &kx_hi);
                const int border = ky_lo > 0 || ky_hi < k_h || kx_lo > 0 || kx_hi < k_w;

                for (int32_t oc = 0; oc < out_c; oc++) {
                    const int8_t *w = filter + oc * filter_oc_size;
                    tnn_rq q;
                    tnn_rq_load(chan, &p->chan, oc, &q);
                    int32_t acc = q.bias;
                    for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
                        const int8_t *in_row =
                            in_batch + (iy0 + ky * p->dilation_h) * in_w * in_c;
                        const int8_t *w_row = w + ky * k_w * in_c;
                        if (p->dilation_w == 1) {
                            /* taps kx_lo..kx_hi-1 are one contiguous run */
                            acc = tnn_dot_s8(in_row + (ix0 + kx_lo) * in_c, w_row + kx_lo * in_c,
                                             (kx_hi - kx_lo) * in_c, acc);
                        } else {
                            for (int32_t kx = kx_lo; kx < kx_hi; kx++) {
                                acc = tnn_dot_s8(in_row + (ix0 + kx * p->dilation_w) * in_c,
                                                 w_row + kx * in_c, in_c, acc);
                            }
                        }
                    }
                    if (border) {
                        /* padded taps read the zero point */
                        int32_t w_pad = 0;
                        for (int32_t ky = 0; ky < k_h; ky++) {
                            for (int32_t kx = 0; kx < k_w; kx++) {
                                if (ky < ky_lo || ky >= ky_hi || kx < kx_lo || kx >= kx_hi) {
                                    w_pad += tnn_sum_s8(w + (ky * k_w + kx) * in_c, in_c);
                                }
                            }
                        }
                        acc += zp * w_pad;
                    }
                    acc = tnn_rq_ref(acc, &q);
                    acc += p->output_zero_point;
                    *output++ = (int8_t)tnn_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return TNN_OK;
}
