/*
 * MAX_POOL_2D and AVERAGE_POOL_2D, int8 (TFLM reference_integer_ops pooling):
 * windows are clipped to the image; the average divides the window sum by the
 * number of in-image elements, rounding half away from zero; both clamp to
 * the fused activation range.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

int tnn_max_pool_s8(const tnn_pool_params *p, const int8_t *input, int8_t *output)
{
    if (p == 0 || input == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    const int32_t in_h = p->input.h, in_w = p->input.w, depth = p->input.c;
    for (int32_t b = 0; b < p->output.n; b++) {
        const int8_t *in_batch = input + b * in_h * in_w * depth;
        for (int32_t oy = 0; oy < p->output.h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t fy_lo, fy_hi;
            tnn_valid_taps(iy0, 1, in_h, p->filter_h, &fy_lo, &fy_hi);
            for (int32_t ox = 0; ox < p->output.w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t fx_lo, fx_hi;
                tnn_valid_taps(ix0, 1, in_w, p->filter_w, &fx_lo, &fx_hi);
                for (int32_t c = 0; c < depth; c++) {
                    int32_t m = -128;
                    for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
                        for (int32_t fx = fx_lo; fx < fx_hi; fx++) {
                            const int32_t v =
                                in_batch[((iy0 + fy) * in_w + (ix0 + fx)) * depth + c];
                            m = v > m ? v : m;
                        }
                    }
                    *output++ = (int8_t)tnn_clamp(m, p->act_min, p->act_max);
                }
            }
        }
    }
    return TNN_OK;
}

int tnn_avg_pool_s8(const tnn_pool_params *p, const int8_t *input, int8_t *output)
{
    if (p == 0 || input == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    const int32_t in_h = p->input.h, in_w = p->input.w, depth = p->input.c;
    for (int32_t b = 0; b < p->output.n; b++) {
        const int8_t *in_batch = input + b * in_h * in_w * depth;
        for (int32_t oy = 0; oy < p->output.h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t fy_lo, fy_hi;
            tnn_valid_taps(iy0, 1, in_h, p->filter_h, &fy_lo, &fy_hi);
            for (int32_t ox = 0; ox < p->output.w; ox++) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t fx_lo, fx_hi;
                tnn_valid_taps(ix0, 1, in_w, p->filter_w, &fx_lo, &fx_hi);
                const int32_t count = (fy_hi - fy_lo) * (fx_hi - fx_lo);
                for (int32_t c = 0; c < depth; c++) {
                    int32_t acc = 0;
                    for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
                        for (int32_t fx = fx_lo; fx < fx_hi; fx++) {
                            acc += in_batch[((iy0 + fy) * in_w + (ix0 + fx)) * depth + c];
                        }
                    }
                    if (count == 0) {
                        return TNN_ERR_ARG;
                    }
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    *output++ = (int8_t)tnn_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return TNN_OK;
}
