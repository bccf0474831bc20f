/*
 * ref_delta8.h - STREAM_DATA8 sample coding written from docs/protocol.md
 * ("Samples"), to judge the device's decoder (stream_delta8_decode).
 *
 * Each byte d != 0x80 is a signed delta from the previous sample; 0x80 is
 * followed by the sample as int16le.  A chunk must decode to exactly `count`
 * samples (else BAD_LENGTH) and never step outside int16 (else BAD_REQUEST).
 */
#ifndef TINYECG_REF_DELTA8_H
#define TINYECG_REF_DELTA8_H

#include <stddef.h>
#include <stdint.h>

enum { REF_D8_OK = 0, REF_D8_RANGE = 1, REF_D8_LENGTH = 2 };

static inline int ref_delta8_decode(const uint8_t *b, size_t n, uint32_t count, int16_t prev, int16_t *out)
{
    long x = prev;
    uint32_t got = 0;
    size_t i = 0;
    while (i < n) {
        if (got == count) {
            return REF_D8_LENGTH; /* bytes left over */
        }
        if (b[i] == 0x80) {
            if (n - i < 3) {
                return REF_D8_LENGTH; /* escape cut short */
            }
            x = (int16_t)(uint16_t)(b[i + 1] | (b[i + 2] << 8));
            i += 3;
        } else {
            x += (b[i] < 0x80) ? (long)b[i] : (long)b[i] - 256;
            i += 1;
            if (x < -32768 || x > 32767) {
                return REF_D8_RANGE;
            }
        }
        out[got++] = (int16_t)x;
    }
    return got == count ? REF_D8_OK : REF_D8_LENGTH;
}

/* Encode x[0..n) after `prev` (what the host sends); returns the byte count.
 * dst needs 3 * n bytes. */
static inline size_t ref_delta8_encode(const int16_t *x, size_t n, int16_t prev, uint8_t *dst)
{
    size_t o = 0;
    long p = prev;
    for (size_t i = 0; i < n; ++i) {
        const long d = (long)x[i] - p;
        if (d >= -127 && d <= 127) {
            dst[o++] = (uint8_t)(d & 0xFF);
        } else {
            dst[o++] = 0x80;
            dst[o++] = (uint8_t)((uint16_t)x[i] & 0xFF);
            dst[o++] = (uint8_t)((uint16_t)x[i] >> 8);
        }
        p = x[i];
    }
    return o;
}

#endif
