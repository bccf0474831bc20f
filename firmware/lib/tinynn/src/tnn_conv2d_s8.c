/*
 * CONV_2D, int8, any kernel size and stride, dilation 1, TNN_F_FAST layers:
 * the 2-D convolutions of image and audio networks (first layers over 1-3
 * input channels, 3x3 residual blocks) and the 1x1 pointwise convolutions of
 * depthwise-separable networks. See tinynn.h for the filter layout and the
 * scratch size.
 *
 * Arithmetic: TFLM's ConvPerChannel integer result, as tnn_conv_s8 (the
 * reference, which stays the judge): the input offset is folded into the
 * bias, a tap in the padding reads the zero point.
 *
 * Method: a matrix multiply of the filter (out_c x L, L = kh * kw * in_c
 * padded to a multiple of 4 with zero weights) by the im2col columns of the
 * output pixels, two pixels at a time. Per block of up to TNN_CONV2D_BLOCK
 * output channels the channel constants are decoded once; per pixel pair the
 * two columns are gathered (zero point in the padding; a 1x1 convolution's
 * column is the input pixel itself); the tile computes 2 channels x 2
 * pixels (4 accumulators) over the whole column.
 *  - SIMD (Cortex-M DSP): the columns are sign-extended to halfword pairs
 *    once per pixel pair ((x0,x2), (x1,x3) per group of four taps, the two
 *    pixels interleaved) and reused by every channel pair: per group of four
 *    taps two weight words, SXTB16 / SXTB16 ROR 8, eight SMLAD: 18
 *    instructions per 16 MACs with the loop's; the four results are
 *    requantized while in registers. An odd last pixel takes 1-pixel tiles.
 *  - portable: int8 columns, each tap's input loaded once for two channels
 *    and each weight once for two pixels.
 * Requantization as tnn_conv1d_s8 (TNN_F_FAST: SMMULR form; ReLU layers
 * with act_min = output zp = -128 in one SMMLAR + SSAT).
 */
#include "tinynn.h"
#include "tnn_fixedpoint.h"
#include "tnn_internal.h"

/* Channels whose constants are decoded at a time (on the stack). */
#define TNN_CONV2D_BLOCK 32

/* One channel's decoded constants. */
typedef struct {
    int32_t bias, mult, l1, r, half, negmask, ra;
} chq;

static void decode(const tnn_conv2d_params *p, const uint8_t *chan, int32_t oc, chq *c)
{
    tnn_rq q;
    tnn_rq_load(chan, &p->chan, oc, &q);
    c->bias = q.bias;
    c->mult = q.mult;
    c->l1 = q.lshift1;
    c->r = q.rshift;
    c->half = q.half;
    c->negmask = q.negmask;
    /* SMMLAR's addend: rounding half and the output zero point, pre-shift */
    c->ra = q.half + (int32_t)((uint32_t)(int32_t)p->output_zero_point << q.rshift);
}

TNN_INLINE int8_t out_general(int32_t acc, const chq *c, const tnn_conv2d_params *p)
{
    const tnn_rq q = {c->bias, c->mult, 0, c->l1 - 1, c->l1, c->r, c->half, c->negmask};
    const int32_t v = TNN_RQ(acc, &q) + p->output_zero_point;
    return (int8_t)tnn_clamp(v, p->act_min, p->act_max);
}

#if TNN_DSP
/* ReLU outputs (act_min = output zp = -128, act_max = 127), r <= 22: see
 * tnn_conv1d_s8's fast_out for why this equals TFLM's value. */
TNN_INLINE int8_t out_relu(int32_t acc, const chq *c)
{
    return (int8_t)tnn_ssat8(tnn_smmlar((int32_t)((uint32_t)acc << c->l1), c->mult, c->ra) >> c->r);
}
#endif

/* Column of output pixel `pix` (flat over n, oy, ox) as int8, zero point in
 * the padding, zeros from L to L4. */
static void gather(const tnn_conv2d_params *p, const int8_t *input, int32_t pix, int8_t *col)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    const int32_t ow = p->output.w, oh = p->output.h;
    const int32_t ox = pix % ow, t = pix / ow, oy = t % oh, b = t / oh;
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    const int8_t zp = p->input_zero_point;
    const int8_t *in_b = input + b * in_h * in_w * in_c;
    int32_t kx_lo, kx_hi;
    tnn_valid_taps(ix0, 1, in_w, kw, &kx_lo, &kx_hi);
    const int32_t row = kw * in_c;
    for (int32_t ky = 0; ky < kh; ky++) {
        const int32_t iy = iy0 + ky;
        int8_t *dst = col + ky * row;
        if (iy < 0 || iy >= in_h) {
            memset(dst, zp, (size_t)row);
            continue;
        }
        if (kx_lo > 0) {
            memset(dst, zp, (size_t)(kx_lo * in_c));
        }
        memcpy(dst + kx_lo * in_c, in_b + (iy * in_w + ix0 + kx_lo) * in_c,
               (size_t)((kx_hi - kx_lo) * in_c));
        if (kx_hi < kw) {
            memset(dst + kx_hi * in_c, zp, (size_t)((kw - kx_hi) * in_c));
        }
    }
    const int32_t len = kh * row, l4 = (len + 3) & ~3;
    for (int32_t i = len; i < l4; i++) {
        col[i] = 0;
    }
}

/* Start of pixel pix's 1x1 column in the input. */
static const int8_t *pixel(const tnn_conv2d_params *p, const int8_t *input, int32_t pix)
{
    const int32_t ow = p->output.w, oh = p->output.h;
    const int32_t ox = pix % ow, t = pix / ow, oy = t % oh, b = t / oh;
    const int32_t iy = oy * p->stride_h, ix = ox * p->stride_w;
    return input + ((b * p->input.h + iy) * p->input.w + ix) * p->input.c;
}

#if TNN_DSP
/* len int8 taps as halfword pairs, groups of four, zeros to the group's end:
 * word 4g = (x[4g], x[4g+2]), word 4g+1 = (x[4g+1], x[4g+3]) (the other
 * pixel fills words 4g+2, 4g+3). */
static void unpack(const int8_t *x, int32_t len, int32_t *dst)
{
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const int32_t w = tnn_ld4(x + i);
        dst[0] = __sxtb16(w);
        dst[1] = tnn_sxtb16_ror8(w);
        dst += 4;
    }
    if (i < len) {
        uint32_t w = 0;
        for (int32_t k = 0; i + k < len; k++) {
            w |= (uint32_t)(uint8_t)x[i + k] << (8 * k);
        }
        dst[0] = __sxtb16((int32_t)w);
        dst[1] = tnn_sxtb16_ror8((int32_t)w);
    }
}

#if defined(TNN_EMULATE_DSP)
#define TILE_ASM 0
#else
#define TILE_ASM 1
#endif

/*
 * The block's nc channels (in pairs) x the pixel pair in xs (groups of four
 * taps), requantized into ya (pixel a) and yb (pixel b).
 */
static __attribute__((noinline)) void block_d(const int32_t *xs, const int8_t *w8, int32_t groups,
                                              int32_t nc, const chq *c, int8_t *ya, int8_t *yb,
                                              const tnn_conv2d_params *p, int relu)
{
    const int32_t *w = (const int32_t *)__builtin_assume_aligned(w8, 4);
    for (int32_t j = 0; j < nc; j += 2) {
        int32_t a0 = c[j].bias, a1 = c[j + 1].bias, a2 = a0, a3 = a1;
        const int32_t *x = xs;
#if TILE_ASM
        /* one group per iteration, 13 registers live: 4 accumulators, the
         * two pixels' halfword pairs, a weight word and its extension,
         * two pointers, the count */
        int32_t n = groups, xa02, xa13, xb02, xb13, wv, t;
        __asm__ volatile(
            "1:\n\t"
            "ldrd   %[xa02], %[xa13], [%[x]], #8\n\t"
            "ldrd   %[xb02], %[xb13], [%[x]], #8\n\t"
            "ldr    %[wv], [%[w]], #4\n\t"
            "sxtb16 %[t], %[wv]\n\t"
            "smlad  %[a0], %[xa02], %[t], %[a0]\n\t"
            "smlad  %[a2], %[xb02], %[t], %[a2]\n\t"
            "sxtb16 %[t], %[wv], ror #8\n\t"
            "smlad  %[a0], %[xa13], %[t], %[a0]\n\t"
            "smlad  %[a2], %[xb13], %[t], %[a2]\n\t"
            "ldr    %[wv], [%[w]], #4\n\t"
            "sxtb16 %[t], %[wv]\n\t"
            "smlad  %[a1], %[xa02], %[t], %[a1]\n\t"
            "smlad  %[a3], %[xb02], %[t], %[a3]\n\t"
            "sxtb16 %[t], %[wv], ror #8\n\t"
            "smlad  %[a1], %[xa13], %[t], %[a1]\n\t"
            "smlad  %[a3], %[xb13], %[t], %[a3]\n\t"
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
              [n] "+r"(n), [xa02] "=&r"(xa02), [xa13] "=&r"(xa13), [xb02] "=&r"(xb02),
              [xb13] "=&r"(xb13), [wv] "=&r"(wv), [t] "=&r"(t)
            :
            : "cc", "memory");
#else
        for (int32_t g = groups; g > 0; g--) {
            const int32_t xa02 = x[0], xa13 = x[1], xb02 = x[2], xb13 = x[3];
            int32_t wv = w[0];
            a0 = __smlad(xa02, __sxtb16(wv), a0);
            a2 = __smlad(xb02, __sxtb16(wv), a2);
            a0 = __smlad(xa13, tnn_sxtb16_ror8(wv), a0);
            a2 = __smlad(xb13, tnn_sxtb16_ror8(wv), a2);
            wv = w[1];
            a1 = __smlad(xa02, __sxtb16(wv), a1);
            a3 = __smlad(xb02, __sxtb16(wv), a3);
            a1 = __smlad(xa13, tnn_sxtb16_ror8(wv), a1);
            a3 = __smlad(xb13, tnn_sxtb16_ror8(wv), a3);
            x += 4;
            w += 2;
        }
#endif
        /* requantized while the accumulators are in registers */
        const int two = j + 1 < nc;
        if (relu) {
            ya[j] = out_relu(a0, &c[j]);
            yb[j] = out_relu(a2, &c[j]);
            if (two) {
                ya[j + 1] = out_relu(a1, &c[j + 1]);
                yb[j + 1] = out_relu(a3, &c[j + 1]);
            }
        } else {
            ya[j] = out_general(a0, &c[j], p);
            yb[j] = out_general(a2, &c[j], p);
            if (two) {
                ya[j + 1] = out_general(a1, &c[j + 1], p);
                yb[j + 1] = out_general(a3, &c[j + 1], p);
            }
        }
    }
}

/* The same for one pixel (words 0, 1 of each group of four in xs): an odd
 * row's last pixel, e.g. the 5-pixel rows of a depthwise + pointwise pair run
 * row by row. */
static __attribute__((noinline)) void block1_d(const int32_t *xs, const int8_t *w8, int32_t groups,
                                               int32_t nc, const chq *c, int8_t *ya,
                                               const tnn_conv2d_params *p, int relu)
{
    const int32_t *w = (const int32_t *)__builtin_assume_aligned(w8, 4);
    for (int32_t j = 0; j < nc; j += 2) {
        int32_t a0 = c[j].bias, a1 = c[j + 1].bias;
        const int32_t *x = xs;
        for (int32_t g = groups; g > 0; g--) {
            const int32_t x02 = x[0], x13 = x[1], w0 = w[0], w1 = w[1];
            a0 = __smlad(x02, __sxtb16(w0), a0);
            a0 = __smlad(x13, tnn_sxtb16_ror8(w0), a0);
            a1 = __smlad(x02, __sxtb16(w1), a1);
            a1 = __smlad(x13, tnn_sxtb16_ror8(w1), a1);
            x += 4;
            w += 2;
        }
        const int two = j + 1 < nc;
        if (relu) {
            ya[j] = out_relu(a0, &c[j]);
            if (two) {
                ya[j + 1] = out_relu(a1, &c[j + 1]);
            }
        } else {
            ya[j] = out_general(a0, &c[j], p);
            if (two) {
                ya[j + 1] = out_general(a1, &c[j + 1], p);
            }
        }
    }
}
#else
/* Portable: int8 columns xa, xb (len taps), filter pairs in groups of four. */
static void block_c(const int8_t *xa, const int8_t *xb, const int8_t *w, int32_t len, int32_t l4,
                    int32_t npairs, const chq *c, int32_t *acc)
{
    for (int32_t j = 0; j < npairs; j++) {
        int32_t a0 = c[2 * j].bias, a1 = c[2 * j + 1].bias, a2 = a0, a3 = a1;
        const int8_t *wp = w + j * 2 * l4;
        for (int32_t i = 0; i < len; i += 4) {
            const int32_t n = len - i < 4 ? len - i : 4;
            for (int32_t k = 0; k < n; k++) {
                const int32_t x = xa[i + k], y = xb[i + k], w0 = wp[k], w1 = wp[4 + k];
                a0 += x * w0;
                a1 += x * w1;
                a2 += y * w0;
                a3 += y * w1;
            }
            wp += 8;
        }
        acc[4 * j] = a0;
        acc[4 * j + 1] = a1;
        acc[4 * j + 2] = a2;
        acc[4 * j + 3] = a3;
    }
}
#endif

int tnn_conv2d_s8(const tnn_conv2d_params *p, const int8_t *input, const int8_t *filter,
                  const uint8_t *chan, int8_t *output, void *scratch)
{
    if (p == 0 || input == 0 || filter == 0 || chan == 0 || output == 0 || scratch == 0 ||
        !(p->flags & TNN_F_FAST)) {
        return TNN_ERR_ARG;
    }
    const int32_t in_c = p->input.c, out_c = p->output.c;
    const int32_t len = p->kernel_h * p->kernel_w * in_c, l4 = (len + 3) & ~3;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    const int one_by_one = p->kernel_h == 1 && p->kernel_w == 1 && p->pad_top == 0 && p->pad_left == 0;
#if TNN_DSP
    int32_t *xs = (int32_t *)scratch;                      /* 2 x l4 halfwords x 2 */
    int8_t *col = (int8_t *)scratch + 4 * l4;              /* one int8 column */
    const int relu = p->act_min == -128 && p->act_max == 127 && p->output_zero_point == -128;
#else
    int8_t *cola = (int8_t *)scratch, *colb = cola + l4;   /* two int8 columns */
#endif
    chq c[TNN_CONV2D_BLOCK];
#if !TNN_DSP
    int32_t acc[2 * TNN_CONV2D_BLOCK];
#endif
    for (int32_t cb = 0; cb < out_c; cb += TNN_CONV2D_BLOCK) {
        const int32_t ce = cb + TNN_CONV2D_BLOCK < out_c ? cb + TNN_CONV2D_BLOCK : out_c;
        const int32_t nc = ce - cb;
        for (int32_t k = 0; k < nc; k++) {
            decode(p, chan, cb + k, &c[k]);
        }
        if (nc & 1) { /* the zero channel padding an odd out_c */
            c[nc] = c[nc - 1];
            c[nc].bias = 0;
        }
#if TNN_DSP
        int all_relu = relu;
        for (int32_t k = 0; k < nc; k++) {
            all_relu &= c[k].r <= 22;
        }
#endif
        const int8_t *wb = filter + cb * l4; /* pairs hold 2 * l4 bytes */
        for (int32_t pa = 0; pa < pixels; pa += 2) {
            const int32_t pb = pa + 1 < pixels ? pa + 1 : pa; /* an odd last pixel twice */
#if TNN_DSP
            if (one_by_one) {
                unpack(pixel(p, input, pa), len, xs);
            } else {
                gather(p, input, pa, col);
                unpack(col, l4, xs);
            }
            if (pb == pa) { /* an odd last pixel: one-pixel tiles */
                block1_d(xs, wb, l4 >> 2, nc, c, output + pa * out_c + cb, p, all_relu);
                continue;
            }
            if (one_by_one) {
                unpack(pixel(p, input, pb), len, xs + 2);
            } else {
                gather(p, input, pb, col);
                unpack(col, l4, xs + 2);
            }
            block_d(xs, wb, l4 >> 2, nc, c, output + pa * out_c + cb, output + pb * out_c + cb, p,
                    all_relu);
#else
            const int8_t *xa, *xb;
            if (one_by_one) {
                xa = pixel(p, input, pa);
                xb = pixel(p, input, pb);
            } else {
                gather(p, input, pa, cola);
                gather(p, input, pb, colb);
                xa = cola;
                xb = colb;
            }
            block_c(xa, xb, wb, len, l4, (nc + 1) >> 1, c, acc);
#endif
#if !TNN_DSP
            int8_t *ya = output + pa * out_c + cb, *yb = output + pb * out_c + cb;
            for (int32_t k = 0; k < nc; k++) {
                const int32_t a = acc[4 * (k >> 1) + (k & 1)], b = acc[4 * (k >> 1) + 2 + (k & 1)];
                ya[k] = out_general(a, &c[k], p);
                yb[k] = out_general(b, &c[k], p);
            }
#endif
        }
    }
    return TNN_OK;
}
