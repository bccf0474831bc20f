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

/* One channel of one row, any kernel and stride. */
static void dw_one(const tnn_dwconv1d_params *p, const int8_t *in_row, const int8_t *filter,
                   const tnn_rq *q, int32_t c, int8_t *out_row)
{
    const int32_t ch = p->channels, k = p->kernel, in_w = p->in_w;
    for (int32_t ox = 0; ox < p->out_w; ox++) {
        const int32_t ix0 = ox * p->stride - p->pad;
        int32_t acc = q->bias;
        if (ix0 >= 0 && ix0 + k <= in_w) {
            const int8_t *x = in_row + ix0 * ch + c;
            const int8_t *w = filter + c;
            for (int32_t t = 0; t < k; t++) {
                acc += x[t * ch] * w[t * ch];
            }
        } else {
            acc = dw_acc(p, in_row, filter, c, ix0, acc);
        }
        const int32_t v = TNN_RQ(acc, q) + p->output_zero_point;
        out_row[ox * ch + c] = (int8_t)tnn_clamp(v, p->act_min, p->act_max);
    }
}

#if TNN_DSP
/*
 * 1 x 5 kernel, stride 1, output range the full int8 range and act_min >=
 * output zero point (ReLU with zp -128): one channel at a time along the
 * width, its five taps in registers as halfword pairs scaled by 2^(lshift+1)
 * (W01 = (w0,w1), W23, W12, W34), the input as a sliding window of pairs
 * P_j = (v_j, v_j+1) of the zp-padded row v. Two outputs per step, each input
 * byte loaded once per channel:
 *   out_n   = bias + SMLAD(P_n, W01) + SMLAD(P_n+2, W23) + v_n+4 * w4
 *   out_n+1 = bias + v_n+1 * w0 + SMLAD(P_n+2, W12) + SMLAD(P_n+4, W34)
 * Requantization: acc' = acc * 2^(lshift+1) (pre-scaled weights and bias),
 * then SMMLAR(acc', M, half + zp * 2^r) >> r and saturation to int8 (SSAT):
 * TFLM's result, since the SMMULR form is exact under TNN_F_FAST and adding
 * zp * 2^r before the shift equals adding zp after it; the rounding
 * correction for negative x is skipped because any x < 0 gives a result
 * <= zp <= act_min either way. Needs lshift <= 6 (weights fit halfwords) and
 * r <= 22 (no overflow); other channels take the general path.
 */
typedef struct {
    int32_t w01, w23, w12, w34, bias, mult, ra, r;
} dw5_k;

TNN_INLINE int dw5_setup(const tnn_dwconv1d_params *p, const int8_t *filter, const tnn_rq *q,
                         int32_t c, dw5_k *k)
{
    if (q->lshift > 6 || q->rshift > 22) {
        return 0;
    }
    const int32_t ch = p->channels, s = q->lshift1;
    int32_t w[5];
    for (int32_t t = 0; t < 5; t++) {
        w[t] = (int32_t)((uint32_t)(int32_t)filter[t * ch + c] << s);
    }
    k->w01 = tnn_pack16(w[0], w[1]);
    k->w23 = tnn_pack16(w[2], w[3]);
    k->w12 = tnn_pack16(w[1], w[2]);
    k->w34 = tnn_pack16(w[3], w[4]);
    k->bias = (int32_t)((uint32_t)q->bias << s);
    k->mult = q->mult;
    k->r = q->rshift;
    k->ra = q->half + (int32_t)((uint32_t)(int32_t)p->output_zero_point << q->rshift);
    return 1;
}

TNN_INLINE int32_t dw5_out(int32_t acc, const dw5_k *k)
{
    return tnn_ssat8(tnn_smmlar(acc, k->mult, k->ra) >> k->r);
}

/* Outputs n, n+1 from P_n, P_n+2, P_n+4; stores out_n+1 only if two. */
TNN_INLINE void dw5_pair(int32_t p0, int32_t p2, int32_t p4, const dw5_k *k, int8_t *o,
                         int32_t ch, int two)
{
    int32_t a = __smlad(p0, k->w01, k->bias);
    int32_t b = __smlatb(p0, k->w01, k->bias);
    a = __smlad(p2, k->w23, a);
    b = __smlad(p2, k->w12, b);
    a = __smlabt(p4, k->w34, a);
    b = __smlad(p4, k->w34, b);
    o[0] = (int8_t)dw5_out(a, k);
    if (two) {
        o[ch] = (int8_t)dw5_out(b, k);
    }
}

/* v_j: input pixel j - pad of channel c, zp outside the row. */
TNN_INLINE int32_t dw5_v(const tnn_dwconv1d_params *p, const int8_t *x, int32_t j)
{
    const int32_t i = j - p->pad;
    return (i >= 0 && i < p->in_w) ? x[i * p->channels] : p->input_zero_point;
}

/* One step whose loads may fall in the padding: outputs n (and n+1). */
static __attribute__((noinline)) void dw5_edge(const tnn_dwconv1d_params *p, const int8_t *x,
                                               const dw5_k *k, int8_t *o, int32_t n, int32_t *w)
{
    const int32_t p4 = tnn_pack16(dw5_v(p, x, n + 4), dw5_v(p, x, n + 5));
    dw5_pair(w[0], w[1], p4, k, o + n * p->channels, p->channels, n + 1 < p->out_w);
    w[0] = w[1];
    w[1] = p4;
}

static __attribute__((noinline)) void dw5_channel(const tnn_dwconv1d_params *p, const int8_t *x,
                                                  const dw5_k *kp, int8_t *o)
{
    const int32_t ch = p->channels, out_w = p->out_w, pad = p->pad, in_w = p->in_w;
    int32_t win[2]; /* P_n, P_n+2 */
    win[0] = tnn_pack16(dw5_v(p, x, 0), dw5_v(p, x, 1));
    win[1] = tnn_pack16(dw5_v(p, x, 2), dw5_v(p, x, 3));
    int32_t n = 0;
    /* steps whose loads v_n+4, v_n+5 are in the row and both outputs exist */
    const int32_t lo = pad - 4, hi_a = in_w + pad - 6, hi_b = out_w - 2;
    const int32_t hi = hi_a < hi_b ? hi_a : hi_b;
    for (; n < out_w && n < lo; n += 2) {
        dw5_edge(p, x, kp, o, n, win);
    }
    if (n <= hi) {
        const dw5_k k = *kp;
        int32_t p0 = win[0], p2 = win[1];
        const int8_t *xi = x + (n + 4 - pad) * ch;
        int8_t *oi = o + n * ch;
        const int32_t ch2 = 2 * ch, steps = (hi - n) / 2 + 1;
        const int8_t *const xend = xi + steps * ch2;
        do {
            const int32_t p4 = tnn_pack16(xi[0], xi[ch]);
            dw5_pair(p0, p2, p4, &k, oi, ch, 1);
            p0 = p2;
            p2 = p4;
            xi += ch2;
            oi += ch2;
        } while (xi != xend);
        n += steps * 2;
        win[0] = p0;
        win[1] = p2;
    }
    for (; n < out_w; n += 2) {
        dw5_edge(p, x, kp, o, n, win);
    }
}

/* The 1 x 5 path applies to the layer (channels may still opt out). */
static int dw5_layer(const tnn_dwconv1d_params *p)
{
    return p->kernel == 5 && p->stride == 1 && p->act_min == -128 && p->act_max == 127 &&
           p->output_zero_point == -128;
}
#endif

static void dw_run(const tnn_dwconv1d_params *p, const int8_t *input,
                       const int8_t *filter, const uint8_t *chan, int8_t *output)
{
    const int32_t ch = p->channels, in_w = p->in_w, out_w = p->out_w;
    for (int32_t r = 0; r < p->rows; r++) {
        const int8_t *in_row = input + r * in_w * ch;
        int8_t *out_row = output + r * out_w * ch;
        int32_t c = 0;
#if TNN_DSP
        if (dw5_layer(p)) {
            for (; c < ch; c++) {
                tnn_rq q;
                dw5_k k5;
                tnn_rq_load(chan, &p->chan, c, &q);
                if (dw5_setup(p, filter, &q, c, &k5)) {
                    dw5_channel(p, in_row + c, &k5, out_row + c);
                } else {
                    dw_one(p, in_row, filter, &q, c, out_row);
                }
            }
        }
        {
            const int32_t k = p->kernel;
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
            dw_one(p, in_row, filter, &q, c, out_row);
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
