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

/* TFLM's average: the sum divided by the count, rounding half away from zero. */
static inline int8_t avg_out(const tnn_pool_params *p, int32_t acc, int32_t count)
{
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    return (int8_t)tnn_clamp(acc, p->act_min, p->act_max);
}

#if TNN_DSP
/* SXTAB16 with the rotate operand (two int8 lanes added to two halfwords). */
static inline int32_t sxtab16_ror8(int32_t acc, int32_t x)
{
#if defined(TNN_EMULATE_DSP)
    return __sxtab16(acc, __ror((uint32_t)x, 8));
#else
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
#endif
}
#endif

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
                if (count == 0) {
                    return TNN_ERR_ARG;
                }
                /* the window's first element, and the step from a row's end to the next row */
                const int8_t *win = in_batch + ((iy0 + fy_lo) * in_w + ix0 + fx_lo) * depth;
                const int32_t cols = fx_hi - fx_lo, rows = fy_hi - fy_lo;
                const int32_t row_skip = (in_w - cols) * depth;
                int32_t c = 0;
#if TNN_DSP
                /* four channels at a time in halfword lanes: |sum| <= 128 * count fits
                 * 16 bits for count <= 255 */
                if (count <= 255) {
                    for (; c + 4 <= depth; c += 4) {
                        int32_t s02 = 0, s13 = 0;
                        const int8_t *x = win + c;
                        for (int32_t fy = 0; fy < rows; fy++) {
                            for (int32_t fx = 0; fx < cols; fx++) {
                                const int32_t v = tnn_ld4(x);
                                s02 = __sxtab16(s02, v);
                                s13 = sxtab16_ror8(s13, v);
                                x += depth;
                            }
                            x += row_skip;
                        }
                        output[c] = avg_out(p, (int16_t)s02, count);
                        output[c + 1] = avg_out(p, (int16_t)s13, count);
                        output[c + 2] = avg_out(p, s02 >> 16, count);
                        output[c + 3] = avg_out(p, s13 >> 16, count);
                    }
                }
#endif
                for (; c < depth; c++) {
                    int32_t acc = 0;
                    const int8_t *x = win + c;
                    for (int32_t fy = 0; fy < rows; fy++) {
                        for (int32_t fx = 0; fx < cols; fx++) {
                            acc += *x;
                            x += depth;
                        }
                        x += row_skip;
                    }
                    output[c] = avg_out(p, acc, count);
                }
                output += depth;
            }
        }
    }
    return TNN_OK;
}
