/*
 * tinynn: int8 neural-network kernels for ahead-of-time generated models.
 *
 * C99, no malloc, no floating point at run time. One readable reference kernel
 * per TFLite operator, bit-exact with TFLM's reference integer kernels (see
 * docs/engine.md). Tensors are dense, row-major, NHWC for 4-D data. Every
 * quantization constant (multipliers, shifts, folded biases, activation
 * ranges) is computed by tools/tinyecg/codegen.py at generation time and
 * stored in const parameter structs.
 *
 * Naming follows CMSIS-NN: tnn_<op>_s8. Kernels return TNN_OK or TNN_ERR_ARG.
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

/* CONV_2D. Filter layout [C_out][K_h][K_w][C_in]. */
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
    const int32_t *multiplier;       /* per output channel */
    const int32_t *shift;            /* per output channel */
} tnn_conv_params;

/* bias_folded[oc] = bias[oc] - input_zero_point * sum(filter[oc]) (int32,
 * wrapping), computed at generation time; padded taps are fed
 * input_zero_point, so the result equals TFLM's sum over valid taps of
 * filter * (input - input_zero_point) + bias. */
int tnn_conv_s8(const tnn_conv_params *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias_folded, int8_t *output);

/* DEPTHWISE_CONV_2D. Filter layout [1][K_h][K_w][C_out], C_out = C_in * depth_multiplier. */
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
    const int32_t *multiplier;
    const int32_t *shift;
} tnn_depthwise_conv_params;

int tnn_depthwise_conv_s8(const tnn_depthwise_conv_params *p, const int8_t *input,
                          const int8_t *filter, const int32_t *bias, int8_t *output);

/* FULLY_CONNECTED. Weights [out_depth][accum_depth]; bias folded as for conv. */
typedef struct {
    int32_t batches;
    int32_t accum_depth;
    int32_t out_depth;
    int32_t output_zero_point;
    int32_t act_min, act_max;
    const int32_t *multiplier;       /* per output channel (per-tensor repeated) */
    const int32_t *shift;
} tnn_fc_params;

int tnn_fully_connected_s8(const tnn_fc_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias_folded, int8_t *output);

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

#ifdef __cplusplus
}
#endif

#endif /* TINYNN_H */
