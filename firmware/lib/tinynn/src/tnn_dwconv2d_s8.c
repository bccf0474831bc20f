/*
 * DEPTHWISE_CONV_2D, depth multiplier 1, dilation 1, any kernel, stride and
 * padding: the 2-D fast path beside the reference tnn_depthwise_conv_s8.
 *
 * Arithmetic: TFLM's DepthwiseConvPerChannel integer result. The input offset
 * is folded into the bias at generation time (bias - zp * sum over the
 * channel's taps), so a tap in the padding reads zp and contributes zp * w,
 * which cancels the folded term exactly. Requantization needs TNN_F_FAST
 * (tnn_rq_fast's proof, checked by the generator).
 *
 * Loop order: channels outside (their constants decoded once per layer),
 * then output rows and pixels. Pixels whose window lies inside the image
 * ("interior") take a loop without bounds checks; the rest ("border") read
 * zp for taps outside. The SIMD path works on four channels at a time: one
 * word of input and one of weights per tap, SXTB16 splits each into
 * (c0, c2) and (c1, c3), SMLABB/SMLATT accumulate each channel (10
 * instructions per 4 MACs). Leftover channels and the portable build run one
 * channel at a time.
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

/* [*lo, *hi): output positions whose window [o * stride - pad, + k) lies
 * inside [0, size). */
static void interior_range(int32_t pad, int32_t stride, int32_t k, int32_t size, int32_t out,
                           int32_t *lo, int32_t *hi)
{
    int32_t a = (pad + stride - 1) / stride;
    int32_t b = size + pad - k < 0 ? 0 : (size + pad - k) / stride + 1;
    if (a > out) {
        a = out;
    }
    if (b > out) {
        b = out;
    }
    if (b < a) {
        b = a;
    }
    *lo = a;
    *hi = b;
}

/* One channel, one output pixel, any position: taps outside read zp. */
static int32_t acc1_border(const tnn_dwconv2d_params *p, const int8_t *in, const int8_t *filter,
                           int32_t c, int32_t iy0, int32_t ix0, int32_t acc)
{
    const int32_t ch = p->channels, ih = p->in_h, iw = p->in_w, kw = p->kernel_w;
    for (int32_t ky = 0; ky < p->kernel_h; ky++) {
        const int32_t iy = iy0 + ky;
        for (int32_t kx = 0; kx < kw; kx++) {
            const int32_t ix = ix0 + kx;
            const int32_t x = (iy >= 0 && iy < ih && ix >= 0 && ix < iw)
                                  ? in[(iy * iw + ix) * ch + c]
                                  : p->input_zero_point;
            acc += x * filter[(ky * kw + kx) * ch + c];
        }
    }
    return acc;
}

/* One channel of one image (the portable path, and leftover channels). */
static void run1(const tnn_dwconv2d_params *p, const int8_t *in, const int8_t *filter,
                 const uint8_t *chan, int32_t c, int8_t *out, int32_t ox_lo, int32_t ox_hi)
{
    const int32_t ch = p->channels, iw = p->in_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t sh = p->stride_h, sw = p->stride_w, ow = p->out_w;
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    const int32_t row_skip = (iw - kw) * ch;
    tnn_rq q;
    tnn_rq_load(chan, &p->chan, c, &q);
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        const int32_t iy0 = oy * sh - p->pad_top;
        const int full = iy0 >= 0 && iy0 + kh <= p->in_h;
        int8_t *o = out + oy * ow * ch + c;
        for (int32_t ox = 0; ox < ow; ox++) {
            const int32_t ix0 = ox * sw - p->pad_left;
            int32_t acc = q.bias;
            if (full && ox >= ox_lo && ox < ox_hi) {
                const int8_t *x = in + (iy0 * iw + ix0) * ch + c;
                const int8_t *w = filter + c;
                for (int32_t ky = 0; ky < kh; ky++) {
                    for (int32_t kx = 0; kx < kw; kx++) {
                        acc += *x * *w;
                        x += ch;
                        w += ch;
                    }
                    x += row_skip;
                }
            } else {
                acc = acc1_border(p, in, filter, c, iy0, ix0, acc);
            }
            o[ox * ch] = (int8_t)tnn_clamp(tnn_rq_fast(acc, &q) + zp, lo, hi);
        }
    }
}

#if TNN_DSP
typedef struct {
    int32_t a0, a1, a2, a3;
} acc4;

/* Four channels' products of one tap: x and w hold channels c..c+3. */
TNN_INLINE void mac4(int32_t xw, int32_t ww, acc4 *a)
{
    const int32_t x02 = __sxtb16(xw), w02 = __sxtb16(ww);
    const int32_t x13 = tnn_sxtb16_ror8(xw), w13 = tnn_sxtb16_ror8(ww);
    a->a0 = __smlabb(x02, w02, a->a0);
    a->a2 = __smlatt(x02, w02, a->a2);
    a->a1 = __smlabb(x13, w13, a->a1);
    a->a3 = __smlatt(x13, w13, a->a3);
}

/* Taps whose weights the SIMD path unpacks once per channel group (on the
 * stack, 8 bytes a tap: up to 5 x 5); larger kernels run one channel at a time. */
#define DW2_MAX_TAPS 25

/* One tap of four channels against the unpacked weights w[0] = (c0, c2),
 * w[1] = (c1, c3): one load, two SXTB16, four multiply-accumulates. */
TNN_INLINE void tap4(const int8_t *x, const int32_t *w, acc4 *a)
{
    const int32_t xw = tnn_ld4(x);
    const int32_t x02 = __sxtb16(xw), x13 = tnn_sxtb16_ror8(xw);
    a->a0 = __smlabb(x02, w[0], a->a0);
    a->a2 = __smlatt(x02, w[0], a->a2);
    a->a1 = __smlabb(x13, w[1], a->a1);
    a->a3 = __smlatt(x13, w[1], a->a3);
}

/*
 * Requantization of a ReLU layer whose output covers [-128, 127] from zp =
 * -128 (act_min = zp, act_max = 127), per channel in three instructions:
 * SMMLAR(acc * 2^(lshift+1), M, half + zp * 2^r) >> r, then SSAT #8. This is
 * tnn_rq_fast's integer plus zp (adding zp * 2^r before the shift adds zp
 * after it); the correction tnn_rq_fast applies to a negative product is
 * skipped since any negative product gives a result <= zp = act_min either
 * way. Needs r <= 22 so that |product| + |half + zp * 2^r| < 2^31.
 */
typedef struct {
    int32_t s, m, ra, r;
} relu_k;

TNN_INLINE int32_t rq_relu(int32_t acc, const relu_k *k)
{
    return tnn_ssat8(tnn_smmlar(acc, k->m, k->ra) >> k->r);
}

/* The ReLU path's accumulator arrives already scaled by 2^s (s = lshift + 1):
 * its unpacked taps and bias are scaled once per channel group (a weight
 * times 2^s fits a halfword for s <= 7; the sum obeys TNN_F_FAST). */
TNN_INLINE int32_t scale_pair(int32_t w, int32_t s_lo, int32_t s_hi)
{
    const uint32_t lo = (uint32_t)(int32_t)(int16_t)(uint32_t)w << s_lo;
    const uint32_t hi = (uint32_t)(w >> 16) << s_hi;
    return (int32_t)((lo & 0xFFFFu) | (hi << 16));
}

TNN_INLINE void prescale(int32_t *wu, int32_t taps, const relu_k *k, acc4 *bias)
{
    for (int32_t t = 0; t < taps; t++) {
        wu[2 * t] = scale_pair(wu[2 * t], k[0].s, k[2].s);
        wu[2 * t + 1] = scale_pair(wu[2 * t + 1], k[1].s, k[3].s);
    }
    bias->a0 = (int32_t)((uint32_t)bias->a0 << k[0].s);
    bias->a1 = (int32_t)((uint32_t)bias->a1 << k[1].s);
    bias->a2 = (int32_t)((uint32_t)bias->a2 << k[2].s);
    bias->a3 = (int32_t)((uint32_t)bias->a3 << k[3].s);
}

/* Requantize and store four channels. */
/* Channels c..c+3 of every tap, unpacked once per channel group into
 * sign-extended halfword pairs (even, odd channels); with a fused ReLU the
 * weights and bias are pre-scaled (prescale above). */
TNN_INLINE void unpack_taps(const int8_t *filter, int32_t ch, int32_t c, int32_t taps, const int relu,
                            const relu_k *k, int32_t *wu, acc4 *bias)
{
    for (int32_t t = 0; t < taps; t++) {
        const int32_t ww = tnn_ld4(filter + t * ch + c);
        wu[2 * t] = __sxtb16(ww);
        wu[2 * t + 1] = tnn_sxtb16_ror8(ww);
    }
    if (relu) {
        prescale(wu, taps, k, bias);
    }
}

TNN_INLINE void store4(const tnn_dwconv2d_params *p, const acc4 *a, const tnn_rq *q,
                       const relu_k *k, int8_t *o, const int relu)
{
    if (relu) {
        o[0] = (int8_t)rq_relu(a->a0, &k[0]);
        o[1] = (int8_t)rq_relu(a->a1, &k[1]);
        o[2] = (int8_t)rq_relu(a->a2, &k[2]);
        o[3] = (int8_t)rq_relu(a->a3, &k[3]);
    } else {
        const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
        o[0] = (int8_t)tnn_clamp(tnn_rq_fast(a->a0, &q[0]) + zp, lo, hi);
        o[1] = (int8_t)tnn_clamp(tnn_rq_fast(a->a1, &q[1]) + zp, lo, hi);
        o[2] = (int8_t)tnn_clamp(tnn_rq_fast(a->a2, &q[2]) + zp, lo, hi);
        o[3] = (int8_t)tnn_clamp(tnn_rq_fast(a->a3, &q[3]) + zp, lo, hi);
    }
}

/* A padded tap: four channels' weights times zp (zp02, zp13: SXTB16 of zp x 4). */
TNN_INLINE void tapz(int32_t zp02, int32_t zp13, const int32_t *w, acc4 *a)
{
    a->a0 = __smlabb(zp02, w[0], a->a0);
    a->a2 = __smlatt(zp02, w[0], a->a2);
    a->a1 = __smlabb(zp13, w[1], a->a1);
    a->a3 = __smlatt(zp13, w[1], a->a3);
}

/* Four channels, one pixel whose window crosses the image edge: the taps
 * outside read zp. wu: the unpacked weights. */
static __attribute__((noinline)) void acc4_border(const tnn_dwconv2d_params *p, const int8_t *in,
                                                  const int32_t *wu, int32_t c, int32_t iy0,
                                                  int32_t ix0, acc4 *a)
{
    const int32_t ch = p->channels, ih = p->in_h, iw = p->in_w, kw = p->kernel_w;
    const int32_t zp4 = (int32_t)((uint32_t)(uint8_t)p->input_zero_point * 0x01010101u);
    const int32_t zp02 = __sxtb16(zp4), zp13 = tnn_sxtb16_ror8(zp4);
    int32_t kx_lo, kx_hi;
    tnn_valid_taps(ix0, 1, iw, kw, &kx_lo, &kx_hi);
    acc4 r = *a;
    const int32_t *w = wu;
    for (int32_t ky = 0; ky < p->kernel_h; ky++) {
        const int32_t iy = iy0 + ky;
        if (iy < 0 || iy >= ih) {
            for (int32_t kx = 0; kx < kw; kx++, w += 2) {
                tapz(zp02, zp13, w, &r);
            }
            continue;
        }
        int32_t kx = 0;
        for (; kx < kx_lo; kx++, w += 2) {
            tapz(zp02, zp13, w, &r);
        }
        const int8_t *x = in + (iy * iw + ix0 + kx) * ch + c;
        for (; kx < kx_hi; kx++, w += 2, x += ch) {
            tap4(x, w, &r);
        }
        for (; kx < kw; kx++, w += 2) {
            tapz(zp02, zp13, w, &r);
        }
    }
    *a = r;
}

/* Channels c..c+3 of one image, border pixels apart (rows wider than the line buffer). */
TNN_INLINE void run4_body(const tnn_dwconv2d_params *p, const int8_t *in, const int8_t *filter,
                          const tnn_rq *q, const relu_k *k, int32_t c, int8_t *out, int32_t ox_lo,
                          int32_t ox_hi, const int relu)
{
    const int32_t ch = p->channels, iw = p->in_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t sh = p->stride_h, sw = p->stride_w, ow = p->out_w;
    const int32_t row = iw * ch, step = sw * ch;
    acc4 bias = {q[0].bias, q[1].bias, q[2].bias, q[3].bias};
    /* on the stack: sp-relative loads, no pointer to keep in a register */
    const relu_k kl[4] = {k[0], k[1], k[2], k[3]};
    int32_t wu[2 * DW2_MAX_TAPS];
    unpack_taps(filter, ch, c, kh * kw, relu, k, wu, &bias);
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        const int32_t iy0 = oy * sh - p->pad_top;
        int8_t *o = out + oy * ow * ch + c;
        int32_t ox = 0;
        if (iy0 >= 0 && iy0 + kh <= p->in_h) {
            for (; ox < ox_lo; ox++) {
                acc4 a = bias;
                acc4_border(p, in, wu, c, iy0, ox * sw - p->pad_left, &a);
                store4(p, &a, q, kl, o + ox * ch, relu);
            }
            const int8_t *xp = in + (iy0 * iw + ox_lo * sw - p->pad_left) * ch + c;
            for (; ox < ox_hi; ox++) {
                acc4 a = bias;
                const int8_t *x = xp;
                const int32_t *w = wu;
                for (int32_t ky = 0; ky < kh; ky++) {
                    const int8_t *xr = x;
                    for (int32_t kx = 0; kx < kw; kx++) {
                        tap4(xr, w, &a);
                        xr += ch;
                        w += 2;
                    }
                    x += row;
                }
                store4(p, &a, q, kl, o + ox * ch, relu);
                xp += step;
            }
        }
        for (; ox < ow; ox++) {
            acc4 a = bias;
            acc4_border(p, in, wu, c, iy0, ox * sw - p->pad_left, &a);
            store4(p, &a, q, kl, o + ox * ch, relu);
        }
    }
}

#define RUN4(name, relu)                                                                           \
    static __attribute__((noinline)) void name(const tnn_dwconv2d_params *p, const int8_t *in,    \
                                               const int8_t *filter, const tnn_rq *q,             \
                                               const relu_k *k, int32_t c, int8_t *out,            \
                                               int32_t ox_lo, int32_t ox_hi)                       \
    {                                                                                              \
        run4_body(p, in, filter, q, k, c, out, ox_lo, ox_hi, relu);                             \
    }
RUN4(run4_relu, 1)
RUN4(run4, 0)

/*
 * The line-buffer path: the kernel_h input rows an output row reads, for the
 * four channels, zp-padded to the width the windows cover and unpacked once
 * (SXTB16 pairs, two words a pixel) in a ring on the stack. Every output
 * pixel then takes the same loop, border or not, and a tap costs two LDRD
 * and four multiply-accumulates. Used when the ring fits DW2_LINE_WORDS.
 */
#define DW2_LINE_WORDS 384 /* 1,536 bytes of stack: 3 rows of 64 pixels */

/* Padded row iy (zp outside the image) of channels c..c+3, w pixels wide. */
static void fill_row(const tnn_dwconv2d_params *p, const int8_t *in, int32_t c, int32_t iy,
                     int32_t w, int32_t zp02, int32_t zp13, int32_t *dst)
{
    const int32_t ch = p->channels, iw = p->in_w, pl = p->pad_left;
    int32_t j = 0;
    if (iy >= 0 && iy < p->in_h) {
        const int32_t lo = pl < w ? pl : w;
        const int32_t hi = pl + iw < w ? pl + iw : w;
        for (; j < lo; j++) {
            dst[2 * j] = zp02;
            dst[2 * j + 1] = zp13;
        }
        const int8_t *x = in + (iy * iw + (j - pl)) * ch + c;
        for (; j < hi; j++) {
            const int32_t v = tnn_ld4(x);
            dst[2 * j] = __sxtb16(v);
            dst[2 * j + 1] = tnn_sxtb16_ror8(v);
            x += ch;
        }
    }
    for (; j < w; j++) {
        dst[2 * j] = zp02;
        dst[2 * j + 1] = zp13;
    }
}

/* One tap from the line buffer: x[0] = (c0, c2), x[1] = (c1, c3). */
TNN_INLINE void tapw(const int32_t *x, const int32_t *w, acc4 *a)
{
    a->a0 = __smlabb(x[0], w[0], a->a0);
    a->a2 = __smlatt(x[0], w[0], a->a2);
    a->a1 = __smlabb(x[1], w[1], a->a1);
    a->a3 = __smlatt(x[1], w[1], a->a3);
}

TNN_INLINE void run4lb_body(const tnn_dwconv2d_params *p, const int8_t *in, const int8_t *filter,
                            const tnn_rq *q, const relu_k *k, int32_t c, int8_t *out, int32_t *lb,
                            int32_t lw, const int relu, const int k3)
{
    const int32_t ch = p->channels, kh = p->kernel_h, kw = p->kernel_w, pt = p->pad_top;
    const int32_t sh = p->stride_h, step = 2 * p->stride_w, ow = p->out_w;
    acc4 bias = {q[0].bias, q[1].bias, q[2].bias, q[3].bias};
    const relu_k kl[4] = {k[0], k[1], k[2], k[3]};
    const int32_t zp4 = (int32_t)((uint32_t)(uint8_t)p->input_zero_point * 0x01010101u);
    const int32_t zp02 = __sxtb16(zp4), zp13 = tnn_sxtb16_ror8(zp4);
    int32_t wu[2 * DW2_MAX_TAPS];
    unpack_taps(filter, ch, c, kh * kw, relu, k, wu, &bias);
    const int32_t *rp[DW2_MAX_TAPS];
    int32_t filled = -pt; /* rows below this are in the ring */
    for (int32_t oy = 0; oy < p->out_h; oy++) {
        const int32_t iy0 = oy * sh - pt;
        for (int32_t iy = filled > iy0 ? filled : iy0; iy < iy0 + kh; iy++) {
            fill_row(p, in, c, iy, lw, zp02, zp13, lb + ((iy + pt) % kh) * 2 * lw);
        }
        filled = iy0 + kh;
        for (int32_t ky = 0; ky < kh; ky++) {
            rp[ky] = lb + ((iy0 + ky + pt) % kh) * 2 * lw;
        }
        int8_t *o = out + oy * ow * ch + c;
        if (k3) {
            const int32_t *r0 = rp[0], *r1 = rp[1], *r2 = rp[2];
            for (int32_t ox = 0; ox < ow; ox++) {
                acc4 a = bias;
                tapw(r0, &wu[0], &a);
                tapw(r0 + 2, &wu[2], &a);
                tapw(r0 + 4, &wu[4], &a);
                tapw(r1, &wu[6], &a);
                tapw(r1 + 2, &wu[8], &a);
                tapw(r1 + 4, &wu[10], &a);
                tapw(r2, &wu[12], &a);
                tapw(r2 + 2, &wu[14], &a);
                tapw(r2 + 4, &wu[16], &a);
                store4(p, &a, q, kl, o, relu);
                r0 += step;
                r1 += step;
                r2 += step;
                o += ch;
            }
        } else {
            for (int32_t ox = 0; ox < ow; ox++) {
                acc4 a = bias;
                const int32_t *w = wu;
                for (int32_t ky = 0; ky < kh; ky++) {
                    const int32_t *x = rp[ky] + ox * step;
                    for (int32_t kx = 0; kx < kw; kx++) {
                        tapw(x, w, &a);
                        x += 2;
                        w += 2;
                    }
                }
                store4(p, &a, q, kl, o, relu);
                o += ch;
            }
        }
    }
}

#define RUN4LB(name, relu, k3)                                                                     \
    static __attribute__((noinline)) void name(const tnn_dwconv2d_params *p, const int8_t *in,    \
                                               const int8_t *filter, const tnn_rq *q,             \
                                               const relu_k *k, int32_t c, int8_t *out,            \
                                               int32_t *lb, int32_t lw)                            \
    {                                                                                              \
        run4lb_body(p, in, filter, q, k, c, out, lb, lw, relu, k3);                                \
    }
RUN4LB(run4lb_relu_k3, 1, 1)
RUN4LB(run4lb_k3, 0, 1)
RUN4LB(run4lb_relu, 1, 0)
RUN4LB(run4lb, 0, 0)
#endif

int tnn_dwconv2d_s8(const tnn_dwconv2d_params *p, const int8_t *input, const int8_t *filter,
                    const uint8_t *chan, int8_t *output)
{
    if (p == 0 || input == 0 || filter == 0 || chan == 0 || output == 0 || !(p->flags & TNN_F_FAST) ||
        p->stride_h < 1 || p->stride_w < 1) {
        return TNN_ERR_ARG;
    }
    const int32_t ch = p->channels;
    int32_t ox_lo, ox_hi;
    interior_range(p->pad_left, p->stride_w, p->kernel_w, p->in_w, p->out_w, &ox_lo, &ox_hi);
    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *in = input + b * p->in_h * p->in_w * ch;
        int8_t *out = output + b * p->out_h * p->out_w * ch;
        int32_t c = 0;
#if TNN_DSP
        const int relu_layer = p->output_zero_point == -128 && p->act_min == -128 && p->act_max == 127;
        /* line buffer: the padded width the windows cover, kernel_h rows of it */
        const int32_t lw = (p->out_w - 1) * p->stride_w + p->kernel_w;
        const int lb_ok = p->kernel_h * lw * 2 <= DW2_LINE_WORDS;
        int32_t lb[DW2_LINE_WORDS];
        for (; c + 4 <= ch && p->kernel_h * p->kernel_w <= DW2_MAX_TAPS; c += 4) {
            tnn_rq q[4];
            relu_k k[4];
            int relu = relu_layer;
            for (int32_t j = 0; j < 4; j++) {
                tnn_rq_load(chan, &p->chan, c + j, &q[j]);
                k[j].s = q[j].lshift1;
                k[j].m = q[j].mult;
                k[j].r = q[j].rshift;
                relu = relu && q[j].rshift <= 22 && q[j].lshift1 <= 7;
                k[j].ra = q[j].rshift <= 22 ? q[j].half + (int32_t)((uint32_t)(int32_t)p->output_zero_point
                                                                     << q[j].rshift)
                                            : 0;
            }
            if (lb_ok) {
                if (p->kernel_w == 3 && p->kernel_h == 3) {
                    (relu ? run4lb_relu_k3 : run4lb_k3)(p, in, filter, q, k, c, out, lb, lw);
                } else {
                    (relu ? run4lb_relu : run4lb)(p, in, filter, q, k, c, out, lb, lw);
                }
            } else {
                (relu ? run4_relu : run4)(p, in, filter, q, k, c, out, ox_lo, ox_hi);
            }
        }
#endif
        for (; c < ch; c++) {
            run1(p, in, filter, chan, c, out, ox_lo, ox_hi);
        }
    }
    return TNN_OK;
}

int tnn_dwconv2d_rows_s8(const tnn_dwconv2d_params *p, int32_t oy, int32_t n, const int8_t *input,
                         const int8_t *filter, const uint8_t *chan, int8_t *out_rows)
{
    if (p == 0 || input == 0 || p->batches != 1 || oy < 0 || n < 1 || oy + n > p->out_h) {
        return TNN_ERR_ARG;
    }
    /* the same layer restricted to the input rows output rows oy..oy+n-1
     * read: rows above the image become padding of the smaller layer */
    tnn_dwconv2d_params r = *p;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t lo = iy0 < 0 ? 0 : (iy0 > p->in_h ? p->in_h : iy0);
    int32_t hi = (oy + n - 1) * p->stride_h - p->pad_top + p->kernel_h;
    hi = hi > p->in_h ? p->in_h : hi;
    r.in_h = (int16_t)(hi > lo ? hi - lo : 0);
    r.pad_top = (int8_t)(lo - iy0);
    r.out_h = (int16_t)n;
    return tnn_dwconv2d_s8(&r, input + lo * p->in_w * p->channels, filter, chan, out_rows);
}

int tnn_dwconv2d_pw_s8(const tnn_dwconv2d_params *dw, const int8_t *input, const int8_t *dw_filter,
                       const uint8_t *dw_chan, const tnn_conv2d_params *pw,
                       const int8_t *pw_filter, const uint8_t *pw_chan, int8_t *rows,
                       int8_t *output, void *scratch)
{
    if (dw == 0 || pw == 0 || rows == 0 || output == 0 || pw->input.n != 1 || pw->input.h < 1 ||
        pw->input.w != dw->out_w || pw->input.c != dw->channels || pw->kernel_h != 1 ||
        pw->kernel_w != 1 || pw->stride_w != 1) {
        return TNN_ERR_ARG;
    }
    const int32_t band = pw->input.h, out_row = pw->output.w * pw->output.c;
    tnn_conv2d_params b = *pw;
    int rc = 0;
    for (int32_t oy = 0; oy < dw->out_h; oy += band) {
        const int32_t n = dw->out_h - oy < band ? dw->out_h - oy : band;
        b.input.h = b.output.h = n;
        rc |= tnn_dwconv2d_rows_s8(dw, oy, n, input, dw_filter, dw_chan, rows);
        rc |= tnn_conv2d_s8(&b, rows, pw_filter, pw_chan, output + oy * out_row, scratch);
    }
    return rc ? TNN_ERR_ARG : TNN_OK;
}
