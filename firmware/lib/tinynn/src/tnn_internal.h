/* Internal helpers shared by the tinynn kernels. */
#ifndef TNN_INTERNAL_H
#define TNN_INTERNAL_H

#include <stdint.h>

/* Range [*lo, *hi) of tap indices k in [0, taps) whose input coordinate
 * origin + k * dilation lies inside [0, size). */
static inline void tnn_valid_taps(int32_t origin, int32_t dilation, int32_t size, int32_t taps,
                                  int32_t *lo, int32_t *hi)
{
    int32_t a = 0;
    int32_t b = taps;
    if (origin < 0) {
        a = (-origin + dilation - 1) / dilation;
    }
    if (origin + (taps - 1) * dilation >= size) {
        b = size > origin ? (size - origin + dilation - 1) / dilation : 0;
    }
    if (a > taps) {
        a = taps;
    }
    if (b < a) {
        b = a;
    }
    *lo = a;
    *hi = b;
}

#endif /* TNN_INTERNAL_H */
