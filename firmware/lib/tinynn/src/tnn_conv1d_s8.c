/*
 * 1-D convolution (CONV_2D with a 1 x k kernel, dilation 1) and FULLY_CONNECTED,
 * int8, per-channel or per-tensor weights, with optional fused 1x2/2 max pool
 * and fused MEAN over the width. See tinynn.h for the filter layout.
 *
 * Arithmetic: TFLM's ConvPerChannel / FullyConnected integer result. The
 * input offset is folded into the bias at generation time
 * (bias - zp * sum(filter)); a tap in the padding reads zp, cancelling its
 * share, so every output is bias + sum(w * x) over all k * in_c taps.
 *
 * Loop order: output channel pairs outside, output pixel pairs inside. One
 * tile computes 2 channels x 2 pixels (4 accumulators): the portable tile
 * loads each input byte once for two channels; the SIMD tile (Cortex-M
 * DSP) loads four input bytes per pixel and four weight bytes per channel as
 * words, sign-extends them to halfword pairs (SXTB16, SXTB16 ROR 8) and
 * multiplies-accumulates two pairs per SMLAD: 20 instructions per 16 MACs.
 * Pixels whose window touches the padding take a scalar path.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

/* ---- tiles: portable ------------------------------------------------------ */

/* Pair layout: w = [g][ch0 x4][ch1 x4] for g < L/4, then ch0 tail, ch1 tail. */
TNN_INLINE void tile_pair_2px_c(const int8_t *xa, const int8_t *xb, const int8_t *w, int32_t len,
                                int32_t *acc0, int32_t *acc1, int32_t *acc2, int32_t *acc3)
{
    int32_t a0 = *acc0, a1 = *acc1, a2 = *acc2, a3 = *acc3;
    for (int32_t g = len >> 2; g > 0; g--) {
        for (int32_t i = 0; i < 4; i++) {
            const int32_t x = xa[i], y = xb[i], w0 = w[i], w1 = w[4 + i];
            a0 += x * w0;
            a1 += x * w1;
            a2 += y * w0;
            a3 += y * w1;
        }
        xa += 4;
        xb += 4;
        w += 8;
    }
    const int32_t rem = len & 3;
    for (int32_t i = 0; i < rem; i++) {
        const int32_t x = xa[i], y = xb[i], w0 = w[i], w1 = w[rem + i];
        a0 += x * w0;
        a1 += x * w1;
        a2 += y * w0;
        a3 += y * w1;
    }
    *acc0 = a0;
    *acc1 = a1;
    *acc2 = a2;
    *acc3 = a3;
}

TNN_INLINE void tile_pair_1px_c(const int8_t *xa, const int8_t *w, int32_t len, int32_t *acc0,
                                int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
    for (int32_t g = len >> 2; g > 0; g--) {
        for (int32_t i = 0; i < 4; i++) {
            const int32_t x = xa[i];
            a0 += x * w[i];
            a1 += x * w[4 + i];
        }
        xa += 4;
        w += 8;
    }
    const int32_t rem = len & 3;
    for (int32_t i = 0; i < rem; i++) {
        a0 += xa[i] * w[i];
        a1 += xa[i] * w[rem + i];
    }
    *acc0 = a0;
    *acc1 = a1;
}

/* Single channel (plain layout), two pixels. */
TNN_INLINE void tile_one_2px_c(const int8_t *xa, const int8_t *xb, const int8_t *w, int32_t len,
                               int32_t *acc0, int32_t *acc2)
{
    int32_t a0 = *acc0, a2 = *acc2;
    for (int32_t i = 0; i < len; i++) {
        a0 += xa[i] * w[i];
        a2 += xb[i] * w[i];
    }
    *acc0 = a0;
    *acc2 = a2;
}

/* ---- tiles: SIMD ----------------------------------------------------------- */
#if TNN_DSP
TNN_INLINE void tile_pair_2px_d(const int8_t *xa, const int8_t *xb, const int8_t *w, int32_t len,
                                int32_t *acc0, int32_t *acc1, int32_t *acc2, int32_t *acc3)
{
    int32_t a0 = *acc0, a1 = *acc1, a2 = *acc2, a3 = *acc3;
    const int32_t dx = (int32_t)(xb - xa);
    for (int32_t g = len >> 2; g > 0; g--) {
        const int32_t xw = tnn_ld4(xa), yw = tnn_ld4(xa + dx);
        const int32_t x02 = __sxtb16(xw), x13 = tnn_sxtb16_ror8(xw);
        const int32_t y02 = __sxtb16(yw), y13 = tnn_sxtb16_ror8(yw);
        int32_t ww = tnn_ld4(w);
        int32_t w02 = __sxtb16(ww), w13 = tnn_sxtb16_ror8(ww);
        a0 = __smlad(x02, w02, a0);
        a2 = __smlad(y02, w02, a2);
        a0 = __smlad(x13, w13, a0);
        a2 = __smlad(y13, w13, a2);
        ww = tnn_ld4(w + 4);
        w02 = __sxtb16(ww);
        w13 = tnn_sxtb16_ror8(ww);
        a1 = __smlad(x02, w02, a1);
        a3 = __smlad(y02, w02, a3);
        a1 = __smlad(x13, w13, a1);
        a3 = __smlad(y13, w13, a3);
        xa += 4;
        w += 8;
    }
    xb = xa + dx;
    const int32_t rem = len & 3;
    for (int32_t i = 0; i < rem; i++) {
        const int32_t x = xa[i], y = xb[i], w0 = w[i], w1 = w[rem + i];
        a0 += x * w0;
        a1 += x * w1;
        a2 += y * w0;
        a3 += y * w1;
    }
    *acc0 = a0;
    *acc1 = a1;
    *acc2 = a2;
    *acc3 = a3;
}

TNN_INLINE void tile_pair_1px_d(const int8_t *xa, const int8_t *w, int32_t len, int32_t *acc0,
                                int32_t *acc1)
{
    int32_t a0 = *acc0, a1 = *acc1;
    for (int32_t g = len >> 2; g > 0; g--) {
        const int32_t xw = tnn_ld4(xa);
        const int32_t x02 = __sxtb16(xw), x13 = tnn_sxtb16_ror8(xw);
        int32_t ww = tnn_ld4(w);
        a0 = __smlad(x02, __sxtb16(ww), a0);
        a0 = __smlad(x13, tnn_sxtb16_ror8(ww), a0);
        ww = tnn_ld4(w + 4);
        a1 = __smlad(x02, __sxtb16(ww), a1);
        a1 = __smlad(x13, tnn_sxtb16_ror8(ww), a1);
        xa += 4;
        w += 8;
    }
    const int32_t rem = len & 3;
    for (int32_t i = 0; i < rem; i++) {
        a0 += xa[i] * w[i];
        a1 += xa[i] * w[rem + i];
    }
    *acc0 = a0;
    *acc1 = a1;
}

TNN_INLINE void tile_one_2px_d(const int8_t *xa, const int8_t *xb, const int8_t *w, int32_t len,
                               int32_t *acc0, int32_t *acc2)
{
    int32_t a0 = *acc0, a2 = *acc2;
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const int32_t xw = tnn_ld4(xa + i), yw = tnn_ld4(xb + i), ww = tnn_ld4(w + i);
        const int32_t w02 = __sxtb16(ww), w13 = tnn_sxtb16_ror8(ww);
        a0 = __smlad(__sxtb16(xw), w02, a0);
        a0 = __smlad(tnn_sxtb16_ror8(xw), w13, a0);
        a2 = __smlad(__sxtb16(yw), w02, a2);
        a2 = __smlad(tnn_sxtb16_ror8(yw), w13, a2);
    }
    for (; i < len; i++) {
        a0 += xa[i] * w[i];
        a2 += xb[i] * w[i];
    }
    *acc0 = a0;
    *acc2 = a2;
}
#define TILE(name) name##_d
#else
#define TILE(name) name##_c
#endif

/* ---- border pixels --------------------------------------------------------- */

/* Offset of tap t of output channel oc in the generated filter layout. */
static int32_t w_index(int32_t oc, int32_t t, int32_t len, int32_t out_c)
{
    if ((out_c & 1) && oc == out_c - 1) {
        return oc * len + t;
    }
    const int32_t base = (oc >> 1) * 2 * len;
    const int32_t full = len & ~3;
    if (t < full) {
        return base + (t >> 2) * 8 + (oc & 1) * 4 + (t & 3);
    }
    return base + 2 * full + (oc & 1) * (len - full) + (t - full);
}

/* bias + sum over all taps of w * x, x = zp where the tap is in the padding. */
static int32_t acc_border(const tnn_conv1d_params *p, const int8_t *in_row, const int8_t *filter,
                          int32_t oc, int32_t ix0, int32_t bias)
{
    const int32_t in_c = p->in_c, len = p->kernel * in_c;
    int32_t acc = bias;
    for (int32_t kx = 0; kx < p->kernel; kx++) {
        const int32_t ix = ix0 + kx;
        const int inside = ix >= 0 && ix < p->in_w;
        for (int32_t c = 0; c < in_c; c++) {
            const int32_t x = inside ? in_row[ix * in_c + c] : p->input_zero_point;
            acc += x * filter[w_index(oc, kx * in_c + c, len, p->out_c)];
        }
    }
    return acc;
}

/* Border tiles: the pixels' windows copied with the padding filled by zp, so
 * they run through the same tiles as inner pixels. Larger windows take the
 * per-tap path (acc_border). */
#define TNN_CONV1D_WINDOW 256

/* Window of input pixels [ix0, ix0 + n) of one row, zp outside the image. */
static void fill_window(int8_t *win, const int8_t *in_row, int32_t in_w, int32_t in_c, int32_t ix0,
                        int32_t n, int32_t zp)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t ix = ix0 + i;
        if (ix >= 0 && ix < in_w) {
            memcpy(win + i * in_c, in_row + ix * in_c, (size_t)in_c);
        } else {
            memset(win + i * in_c, zp, (size_t)in_c);
        }
    }
}

/* ---- interior runs: SIMD, ReLU to the full int8 range ---------------------- */
#if TNN_DSP
/*
 * When the output range is the full int8 range and act_min = output zp = -128
 * (ReLU outputs), a channel pair's interior pixel pairs run in one tight loop:
 * y = SSAT8(SMMLAR(acc << (lshift+1), M, half + zp * 2^r) >> r). That is TFLM's
 * value: the SMMULR form is exact under TNN_F_FAST, adding zp * 2^r before
 * the shift equals adding zp after it, and the rounding correction for
 * negative x is not needed since every x < 0 gives a result <= zp = act_min
 * with or without it. Needs r <= 22 (no overflow); other channels and the
 * border pixels take the general path.
 */
typedef struct {
    int32_t mult, l1, ra, r;
} fast_rq;

TNN_INLINE int fast_rq_make(const tnn_rq *q, int32_t zp, fast_rq *f)
{
    f->mult = q->mult;
    f->l1 = q->lshift1;
    f->r = q->rshift;
    f->ra = q->half + (int32_t)((uint32_t)zp << q->rshift);
    return q->rshift <= 22;
}

TNN_INLINE int32_t fast_out(int32_t acc, const fast_rq *f)
{
    return tnn_ssat8(tnn_smmlar((int32_t)((uint32_t)acc << f->l1), f->mult, f->ra) >> f->r);
}

static int fast_layer(const tnn_conv1d_params *p)
{
    return p->act_min == -128 && p->act_max == 127 && p->output_zero_point == -128;
}

/* n pixel pairs from input pixel ixa on (both windows inside the row). */
static __attribute__((noinline)) void pair_run(const tnn_conv1d_params *p, const int8_t *xa,
                                               const int8_t *w, const fast_rq *fq, int32_t b0,
                                               int32_t b1, int32_t n, int8_t *dst, int32_t *ms)
{
    const fast_rq f0 = fq[0], f1 = fq[1];
    const int32_t in_c = p->in_c, len = p->kernel * in_c, dxb = p->stride * in_c;
    const int32_t pool = p->pool, out_c = p->out_c;
    const int32_t dst_step = (pool == 2 ? 1 : 2) * out_c;
    int32_t s0 = 0, s1 = 0;
    do {
        int32_t a0 = b0, a1 = b1, a2 = b0, a3 = b1;
        tile_pair_2px_d(xa, xa + dxb, w, len, &a0, &a1, &a2, &a3);
        if (pool == 2) {
            const int32_t y0 = fast_out(a0 > a2 ? a0 : a2, &f0);
            const int32_t y1 = fast_out(a1 > a3 ? a1 : a3, &f1);
            if (ms) {
                s0 += y0;
                s1 += y1;
            } else {
                dst[0] = (int8_t)y0;
                dst[1] = (int8_t)y1;
            }
        } else {
            const int32_t y0 = fast_out(a0, &f0), y1 = fast_out(a1, &f1);
            const int32_t y2 = fast_out(a2, &f0), y3 = fast_out(a3, &f1);
            if (ms) {
                s0 += y0 + y2;
                s1 += y1 + y3;
            } else {
                dst[0] = (int8_t)y0;
                dst[1] = (int8_t)y1;
                dst[out_c] = (int8_t)y2;
                dst[out_c + 1] = (int8_t)y3;
            }
        }
        dst += dst_step;
        xa += 2 * dxb;
    } while (--n > 0);
    if (ms) {
        ms[0] += s0;
        ms[1] += s1;
    }
}
#endif

/* ---- driver ---------------------------------------------------------------- */

TNN_INLINE int32_t finish(int32_t acc, const tnn_rq *q, const tnn_conv1d_params *p)
{
    const int32_t v = TNN_RQ(acc, q) + p->output_zero_point;
    return tnn_clamp(v, p->act_min, p->act_max);
}

/* Requantize one channel's result for pixel a (and b), then pool, sum for
 * the mean, or store. */
TNN_INLINE void emit(const tnn_conv1d_params *p, const tnn_rq *q, int32_t acc_a,
                     int32_t acc_b, int pair_px, int8_t *dst, int32_t *msum)
{
    if (pair_px && p->pool == 2) {
        /* max(rq(a), rq(b)) = rq(max(a, b)): requantization is monotone
         * (multiplier >= 0, no wrap under TNN_F_FAST), clamping too */
        const int32_t y = finish(acc_a > acc_b ? acc_a : acc_b, q, p);
        if (msum) { /* conv -> max-pool -> MEAN: the pooled value joins the sum */
            *msum += y;
        } else {
            *dst = (int8_t)y;
        }
        return;
    }
    int32_t ya = finish(acc_a, q, p);
    if (pair_px) {
        const int32_t yb = finish(acc_b, q, p);
        if (msum) {
            *msum += yb;
        } else {
            dst[p->out_c] = (int8_t)yb;
        }
    }
    if (msum) {
        *msum += ya;
    } else {
        *dst = (int8_t)ya;
    }
}

static void conv1d_run(const tnn_conv1d_params *p, const int8_t *input,
                           const int8_t *filter, const uint8_t *chan, int8_t *output,
                           const tnn_mean_fuse *mean)
{
    const int32_t in_w = p->in_w, in_c = p->in_c, out_c = p->out_c, k = p->kernel;
    const int32_t len = k * in_c;
    const int32_t stride = p->stride;
    const int32_t pool = p->pool;
    /* pooled pixels are pairs; VALID pooling drops an odd last pixel */
    const int32_t out_w = pool == 2 ? (p->out_w & ~1) : p->out_w;
    const int32_t out_wp = pool == 2 ? out_w / 2 : out_w;
    const int32_t dst_step = (pool == 2 ? 1 : 2) * out_c;

    for (int32_t r = 0; r < p->rows; r++) {
        const int8_t *in_row = input + r * in_w * in_c;
        int8_t *out_row = output + r * out_wp * out_c;
        for (int32_t oc = 0; oc < out_c; oc += 2) {
            const int two = oc + 1 < out_c;
            const int8_t *w = filter + oc * len; /* pair base (pairs hold 2 * len) */
            tnn_rq q0, q1;
            tnn_rq_load(chan, &p->chan, oc, &q0);
            if (two) {
                tnn_rq_load(chan, &p->chan, oc + 1, &q1);
            } else {
                q1 = q0;
            }
            int32_t msum[2] = {0, 0};
            int32_t *ms0 = mean ? &msum[0] : 0, *ms1 = mean ? &msum[1] : 0;
            int8_t *dst = out_row + oc;
            int32_t ixa = -p->pad;
#if TNN_DSP
            fast_rq fq[2];
            const int fast = two && fast_layer(p) && fast_rq_make(&q0, p->output_zero_point, &fq[0]) &&
                             fast_rq_make(&q1, p->output_zero_point, &fq[1]);
#endif
            for (int32_t ox = 0; ox < out_w; ox += 2) {
                const int pair_px = ox + 1 < out_w;
                const int32_t ixb = ixa + stride;
                int32_t a0 = q0.bias, a1 = q1.bias, a2 = q0.bias, a3 = q1.bias;
                const int inner_a = ixa >= 0 && ixa + k <= in_w;
                const int inner_b = ixb >= 0 && ixb + k <= in_w;
#if TNN_DSP
                if (fast && pair_px && inner_a && inner_b) {
                    /* the run of pixel pairs whose windows are all inside */
                    int32_t last = (in_w - k - stride + p->pad) / stride;
                    if (last > out_w - 2) {
                        last = out_w - 2;
                    }
                    const int32_t n = (last - ox) / 2 + 1;
                    pair_run(p, in_row + ixa * in_c, w, fq, q0.bias, q1.bias, n, dst,
                             mean ? msum : 0);
                    dst += n * dst_step;
                    ixa += n * 2 * stride;
                    ox += 2 * (n - 1);
                    continue;
                }
#endif
                int8_t win[TNN_CONV1D_WINDOW];
                const int8_t *xa = in_row + ixa * in_c, *xb = in_row + ixb * in_c;
                int direct = inner_a && (inner_b || !pair_px);
                if (!direct && (k + stride) * in_c <= TNN_CONV1D_WINDOW) {
                    fill_window(win, in_row, in_w, in_c, ixa, k + (pair_px ? stride : 0),
                                p->input_zero_point);
                    xa = win;
                    xb = win + stride * in_c;
                    direct = 1;
                }
                if (!direct) {
                    a0 = acc_border(p, in_row, filter, oc, ixa, a0);
                    if (two) {
                        a1 = acc_border(p, in_row, filter, oc + 1, ixa, a1);
                    }
                    if (pair_px) {
                        a2 = acc_border(p, in_row, filter, oc, ixb, a2);
                        if (two) {
                            a3 = acc_border(p, in_row, filter, oc + 1, ixb, a3);
                        }
                    }
                } else if (pair_px && two) {
                    TILE(tile_pair_2px)(xa, xb, w, len, &a0, &a1, &a2, &a3);
                } else if (pair_px) {
                    TILE(tile_one_2px)(xa, xb, w, len, &a0, &a2);
                } else if (two) {
                    TILE(tile_pair_1px)(xa, w, len, &a0, &a1);
                } else {
                    a0 = tnn_dot_s8(xa, w, len, a0);
                }
                emit(p, &q0, a0, a2, pair_px, dst, ms0);
                if (two) {
                    emit(p, &q1, a1, a3, pair_px, dst + 1, ms1);
                }
                dst += dst_step;
                ixa += 2 * stride;
            }
            if (mean) {
                const int32_t zsum = p->output_zero_point * out_wp;
                int32_t v = tnn_multiply_by_quantized_multiplier(msum[0] - zsum, mean->multiplier,
                                                                 mean->shift);
                out_row[oc] = (int8_t)tnn_clamp(v + mean->output_zero_point, -128, 127);
                if (two) {
                    v = tnn_multiply_by_quantized_multiplier(msum[1] - zsum, mean->multiplier,
                                                             mean->shift);
                    out_row[oc + 1] = (int8_t)tnn_clamp(v + mean->output_zero_point, -128, 127);
                }
            }
        }
    }
}

int tnn_conv1d_s8(const tnn_conv1d_params *p, const int8_t *input, const int8_t *filter,
                  const uint8_t *chan, int8_t *output, const tnn_mean_fuse *mean)
{
    if (p == 0 || input == 0 || filter == 0 || chan == 0 || output == 0 ||
        (p->pool != 1 && p->pool != 2) || (mean && p->rows != 1) || !(p->flags & TNN_F_FAST)) {
        return TNN_ERR_ARG;
    }
    conv1d_run(p, input, filter, chan, output, mean);
    return TNN_OK;
}
