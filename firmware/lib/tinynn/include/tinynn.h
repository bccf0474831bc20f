/*
 * tinynn: int8 neural-network kernels for ahead-of-time generated models.
 *
 * C99, no malloc, no floating point at run time. One readable reference kernel
 * per TFLite operator, bit-exact with TFLM's reference integer kernels (see
 * docs/engine.md). Tensors are dense, row-major, NHWC for 4-D data. Every
 * quantization constant (multipliers, shifts, folded biases, activation
 * ranges) is computed by tools/tinyecg/lowering at generation time and
 * stored in const parameter structs.
 *
 * Naming follows CMSIS-NN: tnn_<op>_s8. Kernels return TNN_OK or TNN_ERR_ARG.
 *
 * On cores with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7/M33...)
 * the convolution, depthwise and fully connected kernels take SIMD paths
 * (SMLAD/SXTB16 dual MACs through ACLE intrinsics); elsewhere, and on the
 * host, the portable C paths run. Both compute the same integers (tested).
 * FULLY_CONNECTED runs in tnn_fc_s8; CONV_2D in tnn_conv1d_s8 (1 x k over rows),
 * tnn_conv2d_s8 (im2col: k x k, first layers, 1 x 1 pointwise) or tnn_conv_s8.
 */
#ifndef TINYNN_H
#define TINYNN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TNN_OK 0
#define TNN_ERR_ARG (-1)

/* A 4-D tensor shape, NHWC. Lower-rank tensors are padded with leading 1s. */
typedef struct {
    int32_t n, h, w, c;
} tnn_dims;

/*
 * Per-output-channel constants, packed at generation time into one byte table
 * per layer ("channel table"): for each output channel a record of
 * 4 + bytes bytes,
 *   uint32 LE  quantized multiplier (TFLM QuantizeMultiplier significand)
 *   bytes LE   two's complement v = bias * 2^bits + (shift - shift_base)
 * bias is the (folded) int32 bias, shift TFLM's per-channel exponent. The
 * generator picks the smallest bytes/bits that hold the layer's values.
 */
typedef struct {
    uint8_t bytes;      /* 1..5 */
    uint8_t bits;       /* 0..7 */
    int8_t shift_base;
} tnn_chan_fmt;

/* Layer flags. */
/* TNN_F_FAST: every accumulator of the layer obeys |acc| * 2^(shift + 1) <
 * 2^31 (shift: the channel's left shift, usually 0), proven by the generator
 * from the weights and biases. tnn_conv1d_s8 and tnn_dwconv1d_s8 require it
 * (TNN_ERR_ARG otherwise): it lets them requantize with SMMULR and take a
 * fused max pool's maximum before requantizing (monotone, no wrap). Layers
 * that cannot be proven use tnn_conv_s8 / tnn_depthwise_conv_s8. */
#define TNN_F_FAST 1u

/*
 * "1-D" convolution: CONV_2D with a 1 x k kernel, dilation 1 (any stride,
 * SAME/VALID), also FULLY_CONNECTED (in_w = out_w = k = 1), optionally fused
 * with a following MAX_POOL_2D 1x2 stride 2 VALID (pool = 2) and/or MEAN over
 * the width (mean != NULL, rows == 1).
 *
 * Filter layout (generation time): output channels in pairs; per pair the
 * L = k * in_c taps in groups of four, the two channels' groups interleaved
 * ([g0 ch0][g0 ch1][g1 ch0][g1 ch1]...), then the L % 4 leftover taps of ch0,
 * then of ch1. An odd last channel is stored plainly. A SIMD loop then reads
 * one pointer with no shuffling; the portable loop reads the same layout.
 * Bias folded: bias - input_zero_point * sum(filter), so the inner loop is a
 * plain int8 dot product and padded taps contribute filter * zp.
 */
typedef struct {
    int16_t rows;          /* n * h: independent rows */
    int16_t in_w, in_c;
    int16_t out_w, out_c;  /* convolution output width (before pooling) */
    int8_t kernel, stride, pad, pool;
    int8_t input_zero_point, output_zero_point;
    int8_t act_min, act_max; /* fused activation (and pooling's), output units */
    uint8_t flags;
    tnn_chan_fmt chan;
} tnn_conv1d_params;

/* MEAN over the (pooled) width fused into a 1-D convolution: TFLM's
 * QuantizedMeanOrSum on the int8 outputs the convolution would have written. */
typedef struct {
    int32_t multiplier;    /* already divided by the count */
    int8_t shift;
    int8_t output_zero_point;
} tnn_mean_fuse;

int tnn_conv1d_s8(const tnn_conv1d_params *p, const int8_t *input, const int8_t *filter,
                  const uint8_t *chan, int8_t *output, const tnn_mean_fuse *mean);

/* CONV_2D, general (any kernel, stride, dilation). Filter layout
 * [C_out][K_h][K_w][C_in]; channel table bias folded as for tnn_conv1d_s8. */
typedef struct {
    tnn_dims input;
    tnn_dims output;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;       /* from TFLM ComputePaddingHeightWidth */
    int32_t input_zero_point;        /* value a padded tap carries */
    int32_t output_zero_point;
    int32_t act_min, act_max;        /* fused activation, in output units */
    tnn_chan_fmt chan;
} tnn_conv_params;

int tnn_conv_s8(const tnn_conv_params *p, const int8_t *input, const int8_t *filter,
                const uint8_t *chan, int8_t *output);

/* DEPTHWISE_CONV_2D, 1 x k kernel, depth multiplier 1, dilation 1. Filter
 * layout [k][C]; bias folded (bias - zp * sum over taps). SIMD: four channels
 * at a time. */
typedef struct {
    int16_t rows;
    int16_t in_w, out_w, channels;
    int8_t kernel, stride, pad;
    int8_t input_zero_point, output_zero_point;
    int8_t act_min, act_max;
    uint8_t flags;
    tnn_chan_fmt chan;
} tnn_dwconv1d_params;

int tnn_dwconv1d_s8(const tnn_dwconv1d_params *p, const int8_t *input, const int8_t *filter,
                    const uint8_t *chan, int8_t *output);

/* DEPTHWISE_CONV_2D, 2-D fast path (tnn_dwconv2d_s8.c): depth multiplier 1,
 * dilation 1, any kernel / stride / padding, TNN_F_FAST required. Filter
 * layout as TFLite's [K_h][K_w][C]; bias folded (bias - zp * sum over the
 * channel's taps), so padded taps read zp. SIMD: four channels at a time,
 * interior pixels without bounds checks. No scratch. */
typedef struct {
    int16_t batches;
    int16_t in_h, in_w, out_h, out_w, channels;
    int8_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
    int8_t input_zero_point, output_zero_point;
    int8_t act_min, act_max;
    uint8_t flags;
    tnn_chan_fmt chan;
} tnn_dwconv2d_params;

int tnn_dwconv2d_s8(const tnn_dwconv2d_params *p, const int8_t *input, const int8_t *filter,
                    const uint8_t *chan, int8_t *output);

/* Output rows oy..oy+n-1 of the same layer (batches 1) into out_rows
 * (n * out_w * channels bytes). */
int tnn_dwconv2d_rows_s8(const tnn_dwconv2d_params *p, int32_t oy, int32_t n, const int8_t *input,
                         const int8_t *filter, const uint8_t *chan, int8_t *out_rows);

/* DEPTHWISE_CONV_2D fused with the 1x1 CONV_2D that reads it (pw: a
 * tnn_conv2d_s8 layer of a band of input.h rows, in_w = dw out_w; scratch as
 * that kernel's): per band the depthwise rows into `rows` (input.h * out_w *
 * channels bytes), then the pointwise on them into the band's output rows.
 * The depthwise output never exists whole, and the generator may place the
 * output over the input's rows that are no longer read
 * (tools/tinyecg/lowering/fusion.py states the bound).
 * Declared after tnn_conv2d_params below. */
/* DEPTHWISE_CONV_2D, general. Filter layout [1][K_h][K_w][C_out],
 * C_out = C_in * depth_multiplier; channel table holds the plain bias. */
typedef struct {
    tnn_dims input;
    tnn_dims output;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t depth_multiplier;
    int32_t input_offset;            /* -input zero point */
    int32_t output_zero_point;
    int32_t act_min, act_max;
    tnn_chan_fmt chan;
} tnn_depthwise_conv_params;

int tnn_depthwise_conv_s8(const tnn_depthwise_conv_params *p, const int8_t *input,
                          const int8_t *filter, const uint8_t *chan, int8_t *output);

/* MAX_POOL_2D / AVERAGE_POOL_2D. */
typedef struct {
    tnn_dims input;
    tnn_dims output;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t act_min, act_max;
} tnn_pool_params;

int tnn_max_pool_s8(const tnn_pool_params *p, const int8_t *input, int8_t *output);
int tnn_avg_pool_s8(const tnn_pool_params *p, const int8_t *input, int8_t *output);

/* MEAN over any subset of the (up to) four axes. */
typedef struct {
    int32_t dims[4];                 /* input shape, padded to 4-D */
    uint8_t reduce[4];               /* 1 = axis is reduced */
    int32_t count;                   /* number of elements averaged per output */
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;              /* already divided by count (TFLM QuantizedMeanOrSum) */
    int32_t shift;
} tnn_mean_params;

int tnn_mean_s8(const tnn_mean_params *p, const int8_t *input, int8_t *output);

/* SOFTMAX over the last axis; output scale 1/256, zero point -128. */
typedef struct {
    int32_t outer;
    int32_t depth;
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
} tnn_softmax_params;

int tnn_softmax_s8(const tnn_softmax_params *p, const int8_t *input, int8_t *output);

/* ADD with NumPy broadcasting over up to 4-D (a stride of 0 repeats). */
typedef struct {
    int32_t out_dims[4];
    int32_t in1_strides[4];
    int32_t in2_strides[4];
    int32_t input1_offset, input2_offset;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t left_shift;
    int32_t output_multiplier, output_shift;
    int32_t output_zero_point;
    int32_t act_min, act_max;
} tnn_add_params;

int tnn_add_s8(const tnn_add_params *p, const int8_t *input1, const int8_t *input2,
               int8_t *output);

/* CONCATENATION: outer blocks of inputs[i] (chunk[i] bytes each) are laid side by side. */
typedef struct {
    int32_t outer;
    int32_t num_inputs;
    const int32_t *chunk;
} tnn_concat_params;

int tnn_concat_s8(const tnn_concat_params *p, const int8_t *const *inputs, int8_t *output);

/* PAD (4-D, constant = output zero point). */
typedef struct {
    int32_t in_dims[4];
    int32_t out_dims[4];
    int32_t before[4];
    int32_t pad_value;
} tnn_pad_params;

int tnn_pad_s8(const tnn_pad_params *p, const int8_t *input, int8_t *output);

/* QUANTIZE int8 -> int8 (requantize). */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
} tnn_requantize_params;

int tnn_requantize_s8(const tnn_requantize_params *p, const int8_t *input, int8_t *output);


/* ---- fully connected and 2-D convolution fast paths (tnn_fc_s8.c,
 * tnn_conv2d_s8.c) --------------------------------------------------------- */

/*
 * FULLY_CONNECTED for TNN_F_FAST layers. Filter layout (generation time):
 * every row padded with zeros to D4 = depth rounded up to a multiple of 4;
 * rows in quads, a quad's four rows interleaved in groups of four bytes
 * ([g0 r0][g0 r1][g0 r2][g0 r3][g1 r0]...), the out_c % 4 rows past the last
 * quad stored plainly; the array 4-byte aligned. rows: per output row three
 * int32 {folded bias (as tnn_conv1d_s8), multiplier, l1 | r << 8 | (r > 0)
 * << 16} with l1 = max(shift, 0) + 1, r = max(-shift, 0).
 * scratch: TNN_FC_S8_SCRATCH(depth) bytes, 4-byte aligned (the input as
 * halfword pairs on DSP cores; unused elsewhere).
 */
typedef struct {
    int16_t batches, depth, out_c;
    int8_t input_zero_point, output_zero_point;
    int8_t act_min, act_max;
    uint8_t flags;
} tnn_fc_params;

#define TNN_FC_S8_SCRATCH(depth) (2 * (((depth) + 3) & ~3))

int tnn_fc_s8(const tnn_fc_params *p, const int8_t *input, const int8_t *filter,
              const int32_t *rows, int8_t *output, void *scratch);

/*
 * CONV_2D for TNN_F_FAST layers, any kernel and stride, dilation 1 (other
 * dilations use tnn_conv_s8): first layers, k x k convolutions and 1 x 1
 * pointwise convolutions as a matrix multiply over im2col columns.
 * Filter layout (generation time): L = kh * kw * in_c taps per channel in
 * [kh][kw][in_c] order, padded with zeros to L4 (a multiple of 4); output
 * channels in pairs (an odd out_c padded with a zero channel), a pair's two
 * channels interleaved in groups of four taps ([g0 c0][g0 c1][g1 c0]...);
 * the array 4-byte aligned. Bias folded as for tnn_conv1d_s8.
 * scratch: TNN_CONV2D_S8_SCRATCH(kh, kw, in_c) bytes, 4-byte aligned (two
 * columns as halfword pairs and one int8 column on DSP cores, two int8
 * columns elsewhere).
 */
typedef struct {
    tnn_dims input;
    tnn_dims output;
    int16_t kernel_h, kernel_w;
    int16_t stride_h, stride_w;
    int16_t pad_top, pad_left;
    int8_t input_zero_point, output_zero_point;
    int8_t act_min, act_max;
    uint8_t flags;
    tnn_chan_fmt chan;
} tnn_conv2d_params;

#define TNN_CONV2D_S8_SCRATCH(kh, kw, in_c) (5 * ((((kh) * (kw) * (in_c)) + 3) & ~3))

int tnn_conv2d_s8(const tnn_conv2d_params *p, const int8_t *input, const int8_t *filter,
                  const uint8_t *chan, int8_t *output, void *scratch);

/* DEPTHWISE_CONV_2D + 1x1 CONV_2D row by row (tnn_dwconv2d_s8.c, see above). */
int tnn_dwconv2d_pw_s8(const tnn_dwconv2d_params *dw, const int8_t *input, const int8_t *dw_filter,
                       const uint8_t *dw_chan, const tnn_conv2d_params *pw,
                       const int8_t *pw_filter, const uint8_t *pw_chan, int8_t *rows,
                       int8_t *output, void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TINYNN_H */
