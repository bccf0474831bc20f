/*
 * fuzz_util.h - shared by the libFuzzer targets in tests/fuzz: a failing
 * check, a reader for structured fuzz input, and an independent decoder of
 * what the device transmitted (written from docs/protocol.md, not from
 * firmware/src/protocol.c, so that it can judge the device's encoder).
 */
#ifndef TINYECG_FUZZ_UTIL_H
#define TINYECG_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_host.h"

/* A broken property: say which, then abort() so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* ---------------------------------------------------------- structured input */
typedef struct {
    const uint8_t *p;
    size_t n;
} fuzz_in_t;

static inline uint8_t in_u8(fuzz_in_t *in)
{
    if (in->n == 0) {
        return 0;
    }
    in->n -= 1;
    return *in->p++;
}

static inline uint16_t in_u16(fuzz_in_t *in)
{
    uint16_t lo = in_u8(in);
    return (uint16_t)(lo | ((uint16_t)in_u8(in) << 8));
}

static inline uint32_t in_u32(fuzz_in_t *in)
{
    uint32_t lo = in_u16(in);
    return lo | ((uint32_t)in_u16(in) << 16);
}

/* Up to `want` bytes of the remaining input (fewer when it runs out). */
static inline size_t in_bytes(fuzz_in_t *in, uint8_t *dst, size_t want)
{
    size_t n = want < in->n ? want : in->n;
    memcpy(dst, in->p, n);
    in->p += n;
    in->n -= n;
    return n;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, (uint16_t)v);
    put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static inline uint32_t get_le32(const uint8_t *p) { return get_le16(p) | ((uint32_t)get_le16(p + 2) << 16); }

/* -------------------------------------------- reference frame decoding (spec) */
#define REF_MAX_BODY 1024u
#define REF_HEADER 6u
#define REF_MAX_FRAME (REF_HEADER + REF_MAX_BODY + 2u)
#define REF_MAX_ENCODED (REF_MAX_FRAME + REF_MAX_FRAME / 254u + 1u)

/* CRC-16/CCITT-FALSE, bit by bit from the polynomial's definition. */
static inline uint16_t ref_crc16(const uint8_t *d, size_t n)
{
    uint32_t crc = 0xFFFF;
    for (size_t i = 0; i < n; ++i) {
        for (int b = 7; b >= 0; --b) {
            uint32_t top = ((crc >> 15) ^ (uint32_t)(d[i] >> b)) & 1u;
            crc = ((crc << 1) & 0xFFFFu) ^ (top ? 0x1021u : 0u);
        }
    }
    return (uint16_t)crc;
}

/* COBS decode of one delimiter-free chunk; -1 when malformed or over cap. */
static inline long ref_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t code = in[i++];
        if (code == 0 || i + code - 1 > n) {
            return -1;
        }
        for (size_t k = 0; k + 1 < code; ++k) {
            if (in[i + k] == 0 || o >= cap) {
                return -1;
            }
            out[o++] = in[i + k];
        }
        i += code - 1;
        if (code < 0xFF && i < n) {
            if (o >= cap) {
                return -1;
            }
            out[o++] = 0;
        }
    }
    return (long)o;
}

typedef struct {
    uint8_t type;
    uint16_t seq;
    uint16_t len;
    uint8_t body[REF_MAX_BODY];
} ref_frame_t;

/* Split what the device transmitted (host_tx) into frames.  Every byte must
 * belong to a well-formed frame: the device never sends a malformed one. */
static inline size_t ref_tx_frames(ref_frame_t *out, size_t cap)
{
    static uint8_t raw[REF_MAX_FRAME];
    size_t nf = 0, start = 0;
    for (size_t i = 0; i < host_tx_len; ++i) {
        if (host_tx[i] != 0) {
            continue;
        }
        const size_t n_enc = i - start;
        FUZZ_CHECK(n_enc > 0 && n_enc <= REF_MAX_ENCODED, "device sent an empty or oversize frame (%zu bytes)", n_enc);
        long n = ref_cobs_decode(host_tx + start, n_enc, raw, sizeof raw);
        FUZZ_CHECK(n >= (long)(REF_HEADER + 2u), "device sent a frame that does not COBS-decode (%ld)", n);
        const uint16_t len = get_le16(raw + 4);
        FUZZ_CHECK(len <= REF_MAX_BODY && (size_t)n == REF_HEADER + len + 2u, "device frame length %u vs %ld bytes",
                   len, n);
        FUZZ_CHECK(raw[0] == 1, "device frame version %u", raw[0]);
        FUZZ_CHECK(ref_crc16(raw, (size_t)n - 2u) == get_le16(raw + n - 2), "device frame CRC");
        FUZZ_CHECK(nf < cap, "more than %zu frames transmitted", cap);
        out[nf].type = raw[1];
        out[nf].seq = get_le16(raw + 2);
        out[nf].len = len;
        memcpy(out[nf].body, raw + REF_HEADER, len);
        nf++;
        start = i + 1;
    }
    FUZZ_CHECK(start == host_tx_len, "device left %zu bytes without a delimiter", host_tx_len - start);
    host_tx_clear();
    return nf;
}

#endif
