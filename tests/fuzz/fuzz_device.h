/*
 * fuzz_device.h - run one request through the device's command dispatcher
 * (firmware/src/commands.c) on the host and split what it transmitted.
 *
 * The body is copied into a heap block of exactly its length, so that
 * AddressSanitizer catches a handler reading one byte past it (on the device
 * the body sits inside a larger receive buffer and such a read goes unseen).
 */
#ifndef TINYECG_FUZZ_DEVICE_H
#define TINYECG_FUZZ_DEVICE_H

#include "commands.h"
#include "fuzz_util.h"

#define FUZZ_MAX_TX_FRAMES 256u

/* Error codes a command handler may answer with (docs/protocol.md). */
static inline int handler_error_code(int code)
{
    return code == ERR_UNKNOWN_TYPE || code == ERR_BAD_LENGTH || code == ERR_BAD_REQUEST || code == ERR_NO_MODEL;
}

/* Dispatch (type, seq, body[len]); returns the number of frames sent, in
 * frames[]; the last one is checked to be the answer to this request. */
static inline size_t dispatch(uint8_t type, uint16_t seq, const uint8_t *body, uint16_t len, ref_frame_t *frames)
{
    uint8_t *copy = (uint8_t *)malloc(len ? len : 1u);
    FUZZ_CHECK(copy != NULL, "out of memory");
    if (len) {
        memcpy(copy, body, len);
    }
    const frame_t req = {PROTO_VERSION, type, seq, len, copy};
    host_tx_clear();
    commands_dispatch(&req);
    free(copy);
    const size_t n = ref_tx_frames(frames, FUZZ_MAX_TX_FRAMES);
    FUZZ_CHECK(n >= 1, "no answer to request type 0x%02x", type);
    const ref_frame_t *a = &frames[n - 1];
    FUZZ_CHECK(a->seq == seq, "answer seq %u to request seq %u", a->seq, seq);
    if (a->type == MSG_ERROR) {
        FUZZ_CHECK(a->len >= 3 && handler_error_code(a->body[0]) && a->body[1] == type,
                   "ERROR answer (code %u, type 0x%02x, %u bytes) to request 0x%02x", a->len ? a->body[0] : 0,
                   a->len > 1 ? a->body[1] : 0, a->len, type);
        for (size_t i = 2; i < a->len; ++i) {
            FUZZ_CHECK(a->body[i] >= 0x20 && a->body[i] < 0x7F, "ERROR text byte 0x%02x", a->body[i]);
        }
    } else {
        FUZZ_CHECK(a->type == (type | MSG_REPLY), "answer type 0x%02x to request 0x%02x", a->type, type);
    }
    return n;
}

#endif
