/*
 * DEPTHWISE_CONV_2D with a 1 x k kernel, depth multiplier 1, dilation 1.
 *
 * Arithmetic: TFLM's DepthwiseConvPerChannel integer result, with the input
 * offset folded into the bias at generation time (bias - zp * sum over the
 * channel's taps); padded taps read zp. Channels outside (four at a time on
 * the SIMD path: SXTB16 splits a word of four channels into (c0,c2) and
 * (c1,c3), SMLABB/SMLATT accumulate each channel: 10 instructions per
 * 4 MACs), pixels inside; windows touching the padding take a scalar path.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

/* bias + sum over taps of w * x (x = zp in the padding), one channel. */
static int32_t dw_acc(const tnn_dwconv1d_params *p, const int8_t *in_row, const int8_t *filter,
                      int32_t c, int32_t ix0, int32_t acc)
{
    const int32_t ch = p->channels;
    for (int32_t kx = 0; kx < p->kernel; kx++) {
        const int32_t ix = ix0 + kx;
        const int32_t x = (ix >= 0 && ix < p->in_w) ? in_row[ix * ch + c] : p->input_zero_point;
        acc += x * filter[kx * ch + c];
    }
    return acc;
}

static void dw_run(const tnn_dwconv1d_params *p, const int8_t *input,
                       const int8_t *filter, const uint8_t *chan, int8_t *output)
{
    const int32_t ch = p->channels, k = p->kernel, in_w = p->in_w, out_w = p->out_w;
    for (int32_t r = 0; r < p->rows; r++) {
        const int8_t *in_row = input + r * in_w * ch;
        int8_t *out_row = output + r * out_w * ch;
        int32_t c = 0;
#if TNN_DSP
        {
            for (; c + 4 <= ch; c += 4) {
                tnn_rq q[4];
                for (int32_t j = 0; j < 4; j++) {
                    tnn_rq_load(chan, &p->chan, c + j, &q[j]);
                }
                for (int32_t ox = 0; ox < out_w; ox++) {
                    const int32_t ix0 = ox * p->stride - p->pad;
                    int32_t a0 = q[0].bias, a1 = q[1].bias, a2 = q[2].bias, a3 = q[3].bias;
                    if (ix0 >= 0 && ix0 + k <= in_w) {
                        const int8_t *x = in_row + ix0 * ch + c;
                        const int8_t *w = filter + c;
                        for (int32_t t = 0; t < k; t++) {
                            const int32_t xw = tnn_ld4(x), ww = tnn_ld4(w);
                            const int32_t x02 = __sxtb16(xw), w02 = __sxtb16(ww);
                            const int32_t x13 = tnn_sxtb16_ror8(xw), w13 = tnn_sxtb16_ror8(ww);
                            a0 = __smlabb(x02, w02, a0);
                            a2 = __smlatt(x02, w02, a2);
                            a1 = __smlabb(x13, w13, a1);
                            a3 = __smlatt(x13, w13, a3);
                            x += ch;
                            w += ch;
                        }
                    } else {
                        a0 = dw_acc(p, in_row, filter, c, ix0, a0);
                        a1 = dw_acc(p, in_row, filter, c + 1, ix0, a1);
                        a2 = dw_acc(p, in_row, filter, c + 2, ix0, a2);
                        a3 = dw_acc(p, in_row, filter, c + 3, ix0, a3);
                    }
                    int8_t *o = out_row + ox * ch + c;
                    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
                    o[0] = (int8_t)tnn_clamp(tnn_rq_fast(a0, &q[0]) + zp, lo, hi);
                    o[1] = (int8_t)tnn_clamp(tnn_rq_fast(a1, &q[1]) + zp, lo, hi);
                    o[2] = (int8_t)tnn_clamp(tnn_rq_fast(a2, &q[2]) + zp, lo, hi);
                    o[3] = (int8_t)tnn_clamp(tnn_rq_fast(a3, &q[3]) + zp, lo, hi);
                }
            }
        }
#endif
        for (; c < ch; c++) {
            tnn_rq q;
            tnn_rq_load(chan, &p->chan, c, &q);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t ix0 = ox * p->stride - p->pad;
                int32_t acc = q.bias;
                if (ix0 >= 0 && ix0 + k <= in_w) {
                    const int8_t *x = in_row + ix0 * ch + c;
                    const int8_t *w = filter + c;
                    for (int32_t t = 0; t < k; t++) {
                        acc += x[t * ch] * w[t * ch];
                    }
                } else {
                    acc = dw_acc(p, in_row, filter, c, ix0, acc);
                }
                const int32_t v = TNN_RQ(acc, &q) + p->output_zero_point;
                out_row[ox * ch + c] = (int8_t)tnn_clamp(v, p->act_min, p->act_max);
            }
        }
    }
}

int tnn_dwconv1d_s8(const tnn_dwconv1d_params *p, const int8_t *input, const int8_t *filter,
                    const uint8_t *chan, int8_t *output)
{
    if (p == 0 || input == 0 || filter == 0 || chan == 0 || output == 0 || !(p->flags & TNN_F_FAST)) {
        return TNN_ERR_ARG;
    }
    dw_run(p, input, filter, chan, output);
    return TNN_OK;
}
