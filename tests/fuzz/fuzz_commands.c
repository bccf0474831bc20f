/*
 * fuzz_commands.c - libFuzzer target: the command dispatcher with every
 * command type and body, the generated model linked in (firmware/model).
 *
 * Input: a sequence of requests, each  type:u8 seq:u16 len:u16 body[len % 1025]
 * (the body shortened when the input runs out).  After each, what the device
 * transmitted must be well-formed frames: zero or more BEAT events (only for
 * stream data), then exactly one answer with the request's seq, of type
 * request|0x80 or an ERROR naming the request type with a printable text.
 * Per command the answer must have its documented size and content.
 *
 * The build has no TINYECG_TEST_COMMANDS: TEST_FAULT (0x0F) is an unknown type.
 */
#include "cmd_model.h"
#include "fuzz_device.h"
#include "model.h"
#include "model_config.h"
#include "stream.h"

static int known_type(uint8_t t)
{
    return t == MSG_PING || t == MSG_INFO || t == MSG_MODEL_INFO || t == MSG_INFER || t == MSG_STREAM_START ||
           t == MSG_STREAM_DATA || t == MSG_STREAM_DATA8 || t == MSG_STREAM_STOP || t == MSG_STREAM_STATUS;
}

static void check_text(const ref_frame_t *a, const char *must)
{
    for (size_t i = 0; i < a->len; ++i) {
        FUZZ_CHECK(a->body[i] == '\n' || (a->body[i] >= 0x20 && a->body[i] < 0x7F), "text reply byte 0x%02x",
                   a->body[i]);
    }
    FUZZ_CHECK(a->len >= strlen(must) && memmem(a->body, a->len, must, strlen(must)) != NULL,
               "text reply lacks '%s'", must);
}

static void check_answer(uint8_t type, const uint8_t *body, uint16_t len, const ref_frame_t *f, size_t n)
{
    const ref_frame_t *a = &f[n - 1];
    for (size_t i = 0; i + 1 < n; ++i) {
        FUZZ_CHECK(f[i].type == MSG_STREAM_BEAT && f[i].seq == PROTO_SEQ_NONE,
                   "frame 0x%02x before the answer to 0x%02x", f[i].type, type);
        FUZZ_CHECK(type == MSG_STREAM_DATA || type == MSG_STREAM_DATA8, "BEAT event answering 0x%02x", type);
    }
    if (!known_type(type)) {
        FUZZ_CHECK(a->type == MSG_ERROR && a->body[0] == ERR_UNKNOWN_TYPE, "type 0x%02x not refused as unknown",
                   type);
        return;
    }
    if (a->type == MSG_ERROR) {
        FUZZ_CHECK(a->body[0] != ERR_UNKNOWN_TYPE, "known type 0x%02x refused as unknown", type);
        return;
    }
    switch (type) {
    case MSG_PING:
        FUZZ_CHECK(a->len == len && memcmp(a->body, body, len) == 0, "PING reply does not echo the body");
        break;
    case MSG_INFO:
        FUZZ_CHECK(len == 0, "INFO accepted a %u-byte body", len);
        check_text(a, "protocol=1\n");
        break;
    case MSG_MODEL_INFO:
        FUZZ_CHECK(len == 0, "MODEL_INFO accepted a %u-byte body", len);
        check_text(a, "model=" MODEL_ID "\n");
        break;
    case MSG_INFER: {
        FUZZ_CHECK(len == MODEL_INPUT_BYTES, "INFER accepted %u bytes", len);
        FUZZ_CHECK(a->len == MODEL_OUTPUT_BYTES + 4u, "INFER reply of %u bytes", a->len);
        int8_t out[MODEL_OUTPUT_BYTES];
        FUZZ_CHECK(model_invoke((const int8_t *)body, out) == 0, "model_invoke failed");
        FUZZ_CHECK(memcmp(out, a->body, MODEL_OUTPUT_BYTES) == 0, "INFER reply is not the model's output");
        break;
    }
    case MSG_STREAM_START:
        FUZZ_CHECK(len <= 1 && a->len == 12, "STREAM_START reply of %u bytes to a %u-byte body", a->len, len);
        break;
    case MSG_STREAM_DATA:
    case MSG_STREAM_DATA8:
        FUZZ_CHECK(a->len == 9 && a->body[0] <= 2, "stream ACK of %u bytes, status %u", a->len, a->body[0]);
        break;
    case MSG_STREAM_STOP:
    case MSG_STREAM_STATUS:
        FUZZ_CHECK(len == 0 && a->len == 60, "stream statistics of %u bytes to a %u-byte body", a->len, len);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ref_frame_t frames[FUZZ_MAX_TX_FRAMES];
    static uint8_t body[PROTO_MAX_BODY];
    fuzz_in_t in = {data, size};
    host_counter_reset();
    /* every input starts from the same device state: a stream started and stopped */
    dispatch(MSG_STREAM_START, 1, NULL, 0, frames);
    dispatch(MSG_STREAM_STOP, 2, NULL, 0, frames);
    while (in.n > 0) {
        const uint8_t type = in_u8(&in);
        const uint16_t seq = in_u16(&in);
        const uint16_t len = (uint16_t)in_bytes(&in, body, in_u16(&in) % (PROTO_MAX_BODY + 1u));
        const size_t n = dispatch(type, seq, body, len, frames);
        check_answer(type, body, len, frames, n);
    }
    return 0;
}
