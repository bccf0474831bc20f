/*
 * PAD, int8, up to 4-D: elements outside the input are the output zero point.
 */
#include "tinynn.h"

int tnn_pad_s8(const tnn_pad_params *p, const int8_t *input, int8_t *output)
{
    if (p == 0 || input == 0 || output == 0) {
        return TNN_ERR_ARG;
    }
    const int8_t pad = (int8_t)p->pad_value;
    for (int32_t i0 = 0; i0 < p->out_dims[0]; i0++) {
        const int32_t j0 = i0 - p->before[0];
        for (int32_t i1 = 0; i1 < p->out_dims[1]; i1++) {
            const int32_t j1 = i1 - p->before[1];
            for (int32_t i2 = 0; i2 < p->out_dims[2]; i2++) {
                const int32_t j2 = i2 - p->before[2];
                const int inside = j0 >= 0 && j0 < p->in_dims[0] && j1 >= 0 &&
                                   j1 < p->in_dims[1] && j2 >= 0 && j2 < p->in_dims[2];
                const int8_t *row =
                    input + ((j0 * p->in_dims[1] + j1) * p->in_dims[2] + j2) * p->in_dims[3];
                for (int32_t i3 = 0; i3 < p->out_dims[3]; i3++) {
                    const int32_t j3 = i3 - p->before[3];
                    *output++ = (inside && j3 >= 0 && j3 < p->in_dims[3]) ? row[j3] : pad;
                }
            }
        }
    }
    return TNN_OK;
}
