/*
 * fuzz_frame.c - libFuzzer target: the frame reader and decoder
 * (firmware/src/protocol.c: proto_rx_feed, COBS, CRC) and the encoder.
 *
 * 1. Every input byte goes through proto_rx_feed; at each delimiter the
 *    result (nothing, a frame, or an error with its code, seq and type) must
 *    equal a reference decoder written from docs/protocol.md ("Errors": the
 *    checks in order, first failure reported).
 * 2. The input as a frame body: proto_send must transmit one well-formed frame
 *    carrying exactly that type, seq and body.
 * 3. COBS round trip of the input: no zero byte in the encoding, at most one
 *    byte of overhead per 254 plus one, and decoding gives the input back.
 */
#include "fuzz_util.h"
#include "protocol.h"

typedef struct {
    int kind; /* PROTO_RX_NONE / FRAME / ERROR */
    int err;
    int version, type, seq, len;
    const uint8_t *body;
} expect_t;

/* What the spec says a chunk (bytes between delimiters) is. */
static expect_t reference(const uint8_t *chunk, size_t n_enc, int overflow)
{
    static uint8_t raw[REF_MAX_ENCODED];
    expect_t e = {PROTO_RX_ERROR, 0, 0, 0, PROTO_SEQ_NONE, 0, 0};
    if (n_enc == 0 && !overflow) {
        e.kind = PROTO_RX_NONE;
        return e;
    }
    if (overflow || n_enc > REF_MAX_ENCODED) {
        e.err = ERR_OVERSIZE;
        return e;
    }
    long n = ref_cobs_decode(chunk, n_enc, raw, sizeof raw);
    if (n < 0) {
        e.err = ERR_BAD_FRAMING;
        return e;
    }
    if (n >= 2) {
        e.version = raw[0];
        e.type = raw[1];
    }
    if (n >= 4) {
        e.seq = get_le16(raw + 2);
    }
    if (n < (long)(REF_HEADER + 2u)) {
        e.err = ERR_TRUNCATED;
        return e;
    }
    e.len = get_le16(raw + 4);
    const long want = (long)REF_HEADER + e.len + 2;
    if (e.len > (int)REF_MAX_BODY) {
        e.err = ERR_OVERSIZE;
    } else if (n < want) {
        e.err = ERR_TRUNCATED;
    } else if (n > want) {
        e.err = ERR_BAD_LENGTH;
    } else if (ref_crc16(raw, (size_t)n - 2u) != get_le16(raw + n - 2)) {
        e.err = ERR_BAD_CRC;
    } else if (e.version != 1) {
        e.err = ERR_BAD_VERSION;
    } else {
        e.kind = PROTO_RX_FRAME;
        e.body = raw + REF_HEADER;
    }
    return e;
}

static void check_reader(const uint8_t *data, size_t size)
{
    static proto_rx_t rx;
    static uint8_t chunk[4 * REF_MAX_ENCODED];
    memset(&rx, 0, sizeof rx);
    size_t n_chunk = 0;
    int overflow = 0;
    for (size_t i = 0; i < size; ++i) {
        frame_t f;
        proto_error_t err = ERR_NONE;
        const proto_rx_result_t r = proto_rx_feed(&rx, data[i], &f, &err);
        if (data[i] != 0) {
            FUZZ_CHECK(r == PROTO_RX_NONE, "result %d before a delimiter", (int)r);
            if (n_chunk < sizeof chunk) {
                chunk[n_chunk++] = data[i];
            } else {
                overflow = 1;
            }
            continue;
        }
        const expect_t e = reference(chunk, n_chunk, overflow);
        n_chunk = 0;
        overflow = 0;
        FUZZ_CHECK((int)r == e.kind, "result %d, spec says %d (error %d)", (int)r, e.kind, e.err);
        if (r == PROTO_RX_ERROR) {
            FUZZ_CHECK((int)err == e.err, "error code %d, spec says %d", (int)err, e.err);
            FUZZ_CHECK(f.seq == e.seq && f.type == e.type, "error frame seq/type %d/%d, spec %d/%d", f.seq, f.type,
                       e.seq, e.type);
        } else if (r == PROTO_RX_FRAME) {
            FUZZ_CHECK(f.version == e.version && f.type == e.type && f.seq == e.seq && f.len == e.len,
                       "frame header differs from the spec decoder");
            FUZZ_CHECK(f.len == 0 || memcmp(f.body, e.body, f.len) == 0, "frame body differs");
        }
    }
}

static void check_encoder(const uint8_t *data, size_t size)
{
    if (size < 3) {
        return;
    }
    const uint8_t type = data[0];
    const uint16_t seq = get_le16(data + 1);
    size_t len = size - 3;
    if (len > PROTO_MAX_BODY) {
        len = PROTO_MAX_BODY;
    }
    host_tx_clear();
    proto_send(type, seq, data + 3, (uint16_t)len);
    static ref_frame_t frames[2];
    FUZZ_CHECK(ref_tx_frames(frames, 2) == 1, "proto_send sent other than one frame");
    FUZZ_CHECK(frames[0].type == type && frames[0].seq == seq && frames[0].len == len &&
                   memcmp(frames[0].body, data + 3, len) == 0,
               "proto_send frame does not carry what it was given");
}

static void check_cobs(const uint8_t *data, size_t size)
{
    static uint8_t enc[PROTO_MAX_ENCODED + 8], dec[PROTO_MAX_FRAME];
    size_t n = size < PROTO_MAX_FRAME ? size : PROTO_MAX_FRAME;
    const size_t m = proto_cobs_encode(data, n, enc);
    FUZZ_CHECK(m <= n + n / 254u + 1u, "COBS overhead %zu for %zu bytes", m, n);
    FUZZ_CHECK(memchr(enc, 0, m) == NULL, "COBS output holds a zero byte");
    const size_t back = proto_cobs_decode(enc, m, dec, sizeof dec);
    FUZZ_CHECK(back == n && memcmp(dec, data, n) == 0, "COBS round trip changed %zu bytes into %zu", n, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_reader(data, size);
    check_encoder(data, size);
    check_cobs(data, size);
    return 0;
}
