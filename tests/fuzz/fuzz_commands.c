/*
 * fuzz_commands.c - libFuzzer target: the command dispatcher with every
 * command type and body, the generated model linked in (firmware/model).
 *
 * Input: a sequence of requests, each  type:u8 seq:u16 len:u16 body[len % 1025]
 * (the body shortened when the input runs out).  After each, what the device
 * transmitted must be well-formed frames: zero or more BEAT / RHYTHM events
 * (only for stream data), then exactly one answer with the request's seq, of type
 * request|0x80 or an ERROR naming the request type with a printable text.
 * Per command the answer must have its documented size and content; the
 * engine commands (INFER, TENSOR_WRITE, INVOKE, TENSOR_READ) are judged by a
 * model of their state written from docs/protocol.md "Running the model":
 * which error, the written prefix, and every byte read back equal to the
 * generated model run on the bytes the model says the device holds.
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
    return t == MSG_PING || t == MSG_INFO || t == MSG_MODEL_INFO || t == MSG_INFER || t == MSG_TENSOR_WRITE ||
           t == MSG_INVOKE || t == MSG_TENSOR_READ || t == MSG_STREAM_START || t == MSG_STREAM_DATA ||
           t == MSG_STREAM_DATA8 || t == MSG_STREAM_STOP || t == MSG_STREAM_STATUS;
}

/* --- the engine commands, as docs/protocol.md "Running the model" specifies --- */
static const uint32_t in_size[MODEL_NUM_INPUTS] = MODEL_INPUT_SIZES;
static const uint32_t out_size[MODEL_NUM_OUTPUTS] = MODEL_OUTPUT_SIZES;
static struct {
    uint32_t written[MODEL_NUM_INPUTS]; /* prefix of each input written since the last invoke */
    int have_result;
    int8_t in[MODEL_INPUT_BYTES];       /* what the device's input buffer must hold */
    int8_t out[MODEL_OUTPUT_BYTES];     /* the last completed invoke's outputs */
} eng;

static uint32_t base_of(const uint32_t *size, uint32_t k)
{
    uint32_t b = 0;
    for (uint32_t i = 0; i < k; ++i) {
        b += size[i];
    }
    return b;
}

/* Run the model on eng.in as the device does: inputs consumed, result kept. */
static void eng_invoke(void)
{
    memset(eng.written, 0, sizeof eng.written);
    FUZZ_CHECK(model_invoke(eng.in, eng.out) == 0, "model_invoke failed");
    eng.have_result = 1;
}

/* The error the spec gives a chunk header (TENSOR_WRITE / READ), or 0. */
static int chunk_error(const uint8_t *b, const uint32_t *size, uint32_t count, uint32_t n)
{
    const uint32_t k = b[0], total = get_le32(b + 1), off = get_le32(b + 5);
    if (k >= count || total != size[k] || off > size[k] || n > size[k] - off) {
        return ERR_BAD_REQUEST;
    }
    return 0;
}

/* The answer the engine command must give: an error code, or 0 and the reply checked. */
static int engine_expect(uint8_t type, const uint8_t *body, uint16_t len, const ref_frame_t *a)
{
    if (type == MSG_TENSOR_WRITE) {
        if (len <= PROTO_CHUNK_HEADER_BYTES) {
            return ERR_BAD_LENGTH;
        }
        const uint32_t n = len - PROTO_CHUNK_HEADER_BYTES, k = body[0], off = get_le32(body + 5);
        int e = chunk_error(body, in_size, MODEL_NUM_INPUTS, n);
        if (e || off > eng.written[k]) {
            return ERR_BAD_REQUEST;
        }
        memcpy(eng.in + base_of(in_size, k) + off, body + PROTO_CHUNK_HEADER_BYTES, n);
        eng.written[k] = off + n > eng.written[k] ? off + n : eng.written[k];
        eng.have_result = 0;
        FUZZ_CHECK(a->type != MSG_ERROR && a->len == 4 && get_le32(a->body) == eng.written[k],
                   "TENSOR_WRITE reply, expected written %u", eng.written[k]);
        return 0;
    }
    if (type == MSG_INVOKE) {
        if (len != 0) {
            return ERR_BAD_LENGTH;
        }
        for (uint32_t k = 0; k < MODEL_NUM_INPUTS; ++k) {
            if (eng.written[k] != in_size[k]) {
                return ERR_BAD_REQUEST;
            }
        }
        eng_invoke();
        FUZZ_CHECK(a->type != MSG_ERROR && a->len == 4, "INVOKE reply of %u bytes", a->len);
        return 0;
    }
    if (type == MSG_TENSOR_READ) {
        if (len != PROTO_READ_REQUEST_BYTES) {
            return ERR_BAD_LENGTH;
        }
        const uint32_t n = get_le16(body + PROTO_CHUNK_HEADER_BYTES), k = body[0], off = get_le32(body + 5);
        if (n == 0 || n > PROTO_CHUNK_MAX_DATA || chunk_error(body, out_size, MODEL_NUM_OUTPUTS, n) ||
            !eng.have_result) {
            return ERR_BAD_REQUEST;
        }
        FUZZ_CHECK(a->type != MSG_ERROR && a->len == PROTO_CHUNK_HEADER_BYTES + n &&
                       memcmp(a->body, body, PROTO_CHUNK_HEADER_BYTES) == 0 &&
                       memcmp(a->body + PROTO_CHUNK_HEADER_BYTES, eng.out + base_of(out_size, k) + off, n) == 0,
                   "TENSOR_READ reply is not bytes %u+%u of output %u of the last invoke", off, n, k);
        return 0;
    }
    /* INFER */
    if (len != MODEL_INPUT_BYTES) {
        return ERR_BAD_LENGTH;
    }
    memcpy(eng.in, body, MODEL_INPUT_BYTES);
    eng_invoke();
    FUZZ_CHECK(a->type != MSG_ERROR && a->len == MODEL_OUTPUT_BYTES + 4u &&
                   memcmp(a->body, eng.out, MODEL_OUTPUT_BYTES) == 0,
               "INFER reply is not the model's output");
    return 0;
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
        FUZZ_CHECK((f[i].type == MSG_STREAM_BEAT || f[i].type == MSG_STREAM_RHYTHM) && f[i].seq == PROTO_SEQ_NONE,
                   "frame 0x%02x before the answer to 0x%02x", f[i].type, type);
        FUZZ_CHECK(type == MSG_STREAM_DATA || type == MSG_STREAM_DATA8, "stream event answering 0x%02x", type);
    }
    if (!known_type(type)) {
        FUZZ_CHECK(a->type == MSG_ERROR && a->body[0] == ERR_UNKNOWN_TYPE, "type 0x%02x not refused as unknown",
                   type);
        return;
    }
    if (type == MSG_INFER || type == MSG_TENSOR_WRITE || type == MSG_INVOKE || type == MSG_TENSOR_READ) {
        const int want = engine_expect(type, body, len, a);
        FUZZ_CHECK(want == 0 || (a->type == MSG_ERROR && a->body[0] == want),
                   "engine command 0x%02x (%u bytes): answer 0x%02x code %d, expected ERROR %d", type, len, a->type,
                   a->type == MSG_ERROR ? a->body[0] : -1, want);
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
    case MSG_STREAM_START:
        FUZZ_CHECK(len <= 1 && a->len == 12, "STREAM_START reply of %u bytes to a %u-byte body", a->len, len);
        break;
    case MSG_STREAM_DATA:
    case MSG_STREAM_DATA8:
        FUZZ_CHECK(a->len == 9 && a->body[0] <= 2, "stream ACK of %u bytes, status %u", a->len, a->body[0]);
        break;
    case MSG_STREAM_STOP:
    case MSG_STREAM_STATUS:
        FUZZ_CHECK(len == 0 && a->len == 68, "stream statistics of %u bytes to a %u-byte body", a->len, len);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ref_frame_t frames[FUZZ_MAX_TX_FRAMES];
    static uint8_t body[PROTO_MAX_BODY];
    fuzz_in_t in = {data, size};
    host_counter_reset();
    /* every input starts from the same device state: a stream started and stopped, an
     * inference run (no input written since, its result readable) */
    dispatch(MSG_STREAM_START, 1, NULL, 0, frames);
    dispatch(MSG_STREAM_STOP, 2, NULL, 0, frames);
    memset(&eng, 0, sizeof eng);
    dispatch(MSG_INFER, 3, (const uint8_t *)eng.in, MODEL_INPUT_BYTES, frames);
    eng_invoke();
    while (in.n > 0) {
        const uint8_t type = in_u8(&in);
        const uint16_t seq = in_u16(&in);
        const uint16_t len = (uint16_t)in_bytes(&in, body, in_u16(&in) % (PROTO_MAX_BODY + 1u));
        const size_t n = dispatch(type, seq, body, len, frames);
        check_answer(type, body, len, frames, n);
    }
    return 0;
}
