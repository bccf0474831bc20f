/*
 * fuzz_delta8.c - libFuzzer target: the STREAM_DATA8 sample decoder
 * (stream_delta8_decode in firmware/src/stream.c).
 *
 * 1. Input = prev:i16 count:u16 deltas: the device's decoder must give the
 *    answer of the reference decoder written from docs/protocol.md (which
 *    error, or exactly the same samples), and never write past `count`.
 * 2. Input = int16 samples: encoded as the host encodes them, decoded by the
 *    device, they must come back unchanged.
 */
#include "fuzz_util.h"
#include "ref_delta8.h"
#include "stream.h"

#define CAP (STREAM_MAX_DELTA_SAMPLES + 1u)

static void check_decode(const uint8_t *data, size_t size)
{
    static int16_t want[CAP];
    if (size < 4) {
        return;
    }
    const int16_t prev = (int16_t)get_le16(data);
    const uint32_t count = 1u + get_le16(data + 2) % STREAM_MAX_DELTA_SAMPLES;
    const uint8_t *d = data + 4;
    const size_t n = size - 4;
    /* exactly `count` samples of room: ASan catches a write past them */
    int16_t *got = (int16_t *)malloc(count * sizeof *got);
    FUZZ_CHECK(got != NULL, "out of memory");
    const proto_error_t e = stream_delta8_decode(d, n, count, prev, got);
    const int r = ref_delta8_decode(d, n, count, prev, want);
    const proto_error_t expect = r == REF_D8_OK ? ERR_NONE : (r == REF_D8_RANGE ? ERR_BAD_REQUEST : ERR_BAD_LENGTH);
    FUZZ_CHECK(e == expect, "decoder says %d, spec %d (count %u, %zu bytes)", (int)e, (int)expect, count, n);
    if (e == ERR_NONE) {
        FUZZ_CHECK(memcmp(got, want, count * sizeof *got) == 0, "decoded samples differ");
    }
    free(got);
}

static void check_round_trip(const uint8_t *data, size_t size)
{
    static int16_t x[CAP], back[CAP];
    static uint8_t enc[3 * CAP];
    if (size < 2) {
        return;
    }
    const int16_t prev = (int16_t)get_le16(data);
    size_t n = (size - 2) / 2;
    n = n < STREAM_MAX_DELTA_SAMPLES ? n : STREAM_MAX_DELTA_SAMPLES;
    if (n == 0) {
        return;
    }
    for (size_t i = 0; i < n; ++i) {
        x[i] = (int16_t)get_le16(data + 2 + 2 * i);
    }
    const size_t nb = ref_delta8_encode(x, n, prev, enc);
    FUZZ_CHECK(stream_delta8_decode(enc, nb, (uint32_t)n, prev, back) == ERR_NONE, "own encoding refused");
    FUZZ_CHECK(memcmp(x, back, n * sizeof *x) == 0, "round trip changed the samples");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_decode(data, size);
    check_round_trip(data, size);
    return 0;
}
