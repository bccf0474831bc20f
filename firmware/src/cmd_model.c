/*
 * cmd_model.c - the engine's protocol commands (see cmd_model.h for the wire
 * format): MODEL_INFO, the chunked TENSOR_WRITE / INVOKE / TENSOR_READ, and
 * INFER for models whose tensors fit one frame.
 *
 * State, all static and sized by the generated model (no allocator):
 * tensor_in holds every input (model_invoke reads it in place), tensor_out
 * every output. An input counts as written when its bytes [0, size) arrived
 * in order since the last invoke (input_written[k] is that prefix), so a lost
 * chunk is reported at the next chunk, not silently invoked on. tensor_out
 * is readable only between a completed invoke and the next write or invoke
 * (have_result): nothing half-done is ever reported as a result.
 */
#include "cmd_model.h"

#ifdef TINYECG_HAVE_MODEL

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "model.h"
#include "model_config.h"
#include "tinynn.h" /* links the kernel library (PlatformIO LDF) */

#define STACK_PAINT 0xA5A5A5A5u
/* Left untouched below the painter's own frame. */
#define STACK_PAINT_GUARD 64u

/* INFER carries all inputs in one request and all outputs + counter in one reply. */
#define INFER_FITS_ONE_FRAME (MODEL_INPUT_BYTES <= PROTO_MAX_BODY && MODEL_OUTPUT_BYTES + 4u <= PROTO_MAX_BODY)

/* Bottom of the main stack, from the linker script (weak: a board without
 * it reports stack_peak=0). */
extern uint32_t __stack_limit__[] __attribute__((weak));

static const uint32_t input_size[MODEL_NUM_INPUTS] = MODEL_INPUT_SIZES;
static const uint32_t output_size[MODEL_NUM_OUTPUTS] = MODEL_OUTPUT_SIZES;

static int8_t tensor_in[MODEL_INPUT_BYTES];   /* all inputs, subgraph order */
static int8_t tensor_out[MODEL_OUTPUT_BYTES]; /* all outputs, subgraph order */
static uint32_t input_written[MODEL_NUM_INPUTS];
static bool have_result;
static uint32_t stack_peak_bytes;

#ifdef MODEL_PROFILE_STEPS
/* Profiling build (tools/bench.py --profile): the generated model_invoke
 * reads this counter before the first and after each kernel call. */
extern uint32_t model_profile[MODEL_PROFILE_STEPS + 1];

uint32_t tnn_profile_clock(void)
{
    return board_counter_read();
}
#endif

/* Fill the free stack below this function's frame with a pattern. */
static __attribute__((noinline)) void stack_paint(void)
{
    volatile uint32_t here = 0;
    uint32_t *p = (uint32_t *)(((uintptr_t)&here - STACK_PAINT_GUARD) & ~(uintptr_t)3u);
    if (__stack_limit__ == 0) {
        return;
    }
    while (p > __stack_limit__) {
        *--p = STACK_PAINT;
    }
}

/* Bytes between ref and the deepest stack word that lost its paint. */
static uint32_t stack_used_below(uintptr_t ref)
{
    if (__stack_limit__ == 0) {
        return 0;
    }
    const uint32_t *p = __stack_limit__;
    while ((uintptr_t)p < ref && *p == STACK_PAINT) {
        p++;
    }
    return (uintptr_t)p < ref ? (uint32_t)(ref - (uintptr_t)p) : 0u;
}

/* Offset of tensor k in the concatenation of all tensors of its kind. */
static uint32_t tensor_base(const uint32_t *size, uint32_t k)
{
    uint32_t base = 0;
    for (uint32_t i = 0; i < k; i++) {
        base += size[i];
    }
    return base;
}

/* Run the model on tensor_in; every input is consumed (must be written again
 * before the next INVOKE), tensor_out becomes the result if it succeeds. */
static proto_error_t run_model(reply_t *reply, uint32_t *units)
{
    memset(input_written, 0, sizeof input_written);
    have_result = false;
    volatile uint32_t ref = 0;
    stack_paint();
    const uint32_t t0 = board_counter_read();
    const int rc = model_invoke(tensor_in, tensor_out);
    const uint32_t t1 = board_counter_read();
    const uint32_t used = stack_used_below((uintptr_t)&ref);
    if (used > stack_peak_bytes) {
        stack_peak_bytes = used;
    }
    if (rc != 0) {
        return reply_error(reply, ERR_BAD_REQUEST, "model_invoke failed");
    }
    have_result = true;
    *units = t1 - t0;
    return ERR_NONE;
}

typedef struct {
    uint8_t index;
    uint32_t total;
    uint32_t offset;
} chunk_t;

static chunk_t chunk_header(const uint8_t *body)
{
    chunk_t c = {body[0], proto_get_u32(body + 1), proto_get_u32(body + 5)};
    return c;
}

/* The checks TENSOR_WRITE and TENSOR_READ share, in this order: the tensor
 * exists, the host's total is its size, [offset, offset + n) lies inside it. */
static proto_error_t check_chunk(reply_t *reply, const char *kind, const uint32_t *size, uint32_t count,
                                 const chunk_t *c, uint32_t n)
{
    if (c->index >= count) {
        reply_put_text(reply, kind);
        reply_put_text(reply, " index ");
        reply_put_dec(reply, c->index);
        reply_put_text(reply, " out of range: the model has ");
        reply_put_dec(reply, count);
        reply_put_text(reply, " ");
        reply_put_text(reply, kind);
        reply_put_text(reply, "s");
        return reply_error_end(reply, ERR_BAD_REQUEST);
    }
    const uint32_t have = size[c->index];
    if (c->total != have) {
        reply_put_text(reply, "wrong total: ");
        reply_put_text(reply, kind);
        reply_put_text(reply, " ");
        reply_put_dec(reply, c->index);
        reply_put_text(reply, " has ");
        reply_put_dec(reply, have);
        reply_put_text(reply, " bytes, not ");
        reply_put_dec(reply, c->total);
        return reply_error_end(reply, ERR_BAD_REQUEST);
    }
    if (c->offset > have || n > have - c->offset) {
        reply_put_text(reply, "chunk out of range: bytes ");
        reply_put_dec(reply, c->offset);
        reply_put_text(reply, "+");
        reply_put_dec(reply, n);
        reply_put_text(reply, " of ");
        reply_put_text(reply, kind);
        reply_put_text(reply, " ");
        reply_put_dec(reply, c->index);
        reply_put_text(reply, " (");
        reply_put_dec(reply, have);
        reply_put_text(reply, " bytes)");
        return reply_error_end(reply, ERR_BAD_REQUEST);
    }
    return ERR_NONE;
}

proto_error_t cmd_tensor_write(const frame_t *req, reply_t *reply)
{
    if (req->len <= PROTO_CHUNK_HEADER_BYTES) {
        return reply_error(reply, ERR_BAD_LENGTH,
                           "TENSOR_WRITE body is index:u8 total:u32 offset:u32 data[1..1015]");
    }
    const chunk_t c = chunk_header(req->body);
    const uint32_t n = req->len - PROTO_CHUNK_HEADER_BYTES;
    proto_error_t err = check_chunk(reply, "input", input_size, MODEL_NUM_INPUTS, &c, n);
    if (err != ERR_NONE) {
        return err;
    }
    uint32_t *written = &input_written[c.index];
    if (c.offset > *written) {
        reply_put_text(reply, "chunk leaves a gap: offset ");
        reply_put_dec(reply, c.offset);
        reply_put_text(reply, ", input ");
        reply_put_dec(reply, c.index);
        reply_put_text(reply, " written up to ");
        reply_put_dec(reply, *written);
        return reply_error_end(reply, ERR_BAD_REQUEST);
    }
    memcpy(tensor_in + tensor_base(input_size, c.index) + c.offset, req->body + PROTO_CHUNK_HEADER_BYTES, n);
    if (c.offset + n > *written) {
        *written = c.offset + n;
    }
    have_result = false; /* a new inference has begun: the last result is gone */
    reply_put_u32(reply, *written);
    return ERR_NONE;
}

proto_error_t cmd_invoke(const frame_t *req, reply_t *reply)
{
    if (req->len != 0) {
        return reply_error(reply, ERR_BAD_LENGTH, "INVOKE takes an empty body");
    }
    for (uint32_t k = 0; k < MODEL_NUM_INPUTS; k++) {
        if (input_written[k] != input_size[k]) {
            reply_put_text(reply, "INVOKE before input ");
            reply_put_dec(reply, k);
            reply_put_text(reply, " is complete: ");
            reply_put_dec(reply, input_written[k]);
            reply_put_text(reply, " of ");
            reply_put_dec(reply, input_size[k]);
            reply_put_text(reply, " bytes written since the last invoke");
            return reply_error_end(reply, ERR_BAD_REQUEST);
        }
    }
    uint32_t units = 0;
    proto_error_t err = run_model(reply, &units);
    if (err != ERR_NONE) {
        return err;
    }
    reply_put_u32(reply, units);
    return ERR_NONE;
}

proto_error_t cmd_tensor_read(const frame_t *req, reply_t *reply)
{
    if (req->len != PROTO_READ_REQUEST_BYTES) {
        return reply_error(reply, ERR_BAD_LENGTH, "TENSOR_READ body is index:u8 total:u32 offset:u32 length:u16");
    }
    const chunk_t c = chunk_header(req->body);
    const uint32_t n = proto_get_u16(req->body + PROTO_CHUNK_HEADER_BYTES);
    if (n == 0 || n > PROTO_CHUNK_MAX_DATA) {
        reply_put_text(reply, "TENSOR_READ length ");
        reply_put_dec(reply, n);
        reply_put_text(reply, " not in 1..");
        reply_put_dec(reply, PROTO_CHUNK_MAX_DATA);
        return reply_error_end(reply, ERR_BAD_REQUEST);
    }
    proto_error_t err = check_chunk(reply, "output", output_size, MODEL_NUM_OUTPUTS, &c, n);
    if (err != ERR_NONE) {
        return err;
    }
    if (!have_result) {
        return reply_error(reply, ERR_BAD_REQUEST,
                           "no result: TENSOR_READ before a completed INVOKE (or inputs written since)");
    }
    reply_put_bytes(reply, req->body, PROTO_CHUNK_HEADER_BYTES);
    reply_put_bytes(reply, tensor_out + tensor_base(output_size, c.index) + c.offset, (uint16_t)n);
    return ERR_NONE;
}

proto_error_t cmd_infer(const frame_t *req, reply_t *reply)
{
    if (!INFER_FITS_ONE_FRAME) {
        return reply_error(reply, ERR_BAD_REQUEST,
                           "model tensors exceed one frame: use TENSOR_WRITE, INVOKE, TENSOR_READ");
    }
    if (req->len != MODEL_INPUT_BYTES) {
        reply_put_text(reply, "INFER expects ");
        reply_put_dec(reply, MODEL_INPUT_BYTES);
        reply_put_text(reply, " input bytes, got ");
        reply_put_dec(reply, req->len);
        return reply_error_end(reply, ERR_BAD_LENGTH);
    }
    memcpy(tensor_in, req->body, MODEL_INPUT_BYTES);
    uint32_t units = 0;
    proto_error_t err = run_model(reply, &units);
    if (err != ERR_NONE) {
        return err;
    }
    reply_put_bytes(reply, tensor_out, MODEL_OUTPUT_BYTES);
    reply_put_u32(reply, units);
    return ERR_NONE;
}

proto_error_t cmd_model_info(const frame_t *req, reply_t *reply)
{
    if (req->len != 0) {
        return reply_error(reply, ERR_BAD_LENGTH, "MODEL_INFO takes an empty body");
    }
    reply_put_kv(reply, "model", MODEL_ID);
    reply_put_kv_dec(reply, "inputs", MODEL_NUM_INPUTS);
    reply_put_kv(reply, "input_shapes", MODEL_INPUT_SHAPES);
    reply_put_kv(reply, "input_zero_points", MODEL_INPUT_ZERO_POINTS);
    reply_put_kv_dec(reply, "input_bytes", MODEL_INPUT_BYTES);
    reply_put_kv_dec(reply, "outputs", MODEL_NUM_OUTPUTS);
    reply_put_kv(reply, "output_shapes", MODEL_OUTPUT_SHAPES);
    reply_put_kv(reply, "output_zero_points", MODEL_OUTPUT_ZERO_POINTS);
    reply_put_kv_dec(reply, "output_bytes", MODEL_OUTPUT_BYTES);
    reply_put_kv_dec(reply, "arena_bytes", MODEL_ARENA_BYTES);
    reply_put_kv_dec(reply, "macs", MODEL_MACS);
    reply_put_kv_dec(reply, "weight_bytes", MODEL_WEIGHT_BYTES);
#ifdef MODEL_CLASS_LIST
    reply_put_kv(reply, "classes", MODEL_CLASS_LIST);
#endif
    reply_put_kv_dec(reply, "stack_peak", stack_peak_bytes);
#ifdef MODEL_PROFILE_STEPS
    /* counter units each kernel call took in the last invoke, in call order */
    reply_put_kv(reply, "profile_layers", MODEL_PROFILE_NAMES);
    {
        char buf[12 * (MODEL_PROFILE_STEPS + 1)];
        uint32_t n = 0;
        for (uint32_t i = 0; i < MODEL_PROFILE_STEPS; i++) {
            uint32_t v = model_profile[i + 1] - model_profile[i];
            char digits[10];
            uint32_t d = 0;
            do {
                digits[d++] = (char)('0' + v % 10u);
                v /= 10u;
            } while (v != 0u);
            if (i > 0) {
                buf[n++] = ',';
            }
            while (d > 0) {
                buf[n++] = digits[--d];
            }
        }
        buf[n] = '\0';
        reply_put_kv(reply, "profile", buf);
    }
#endif
    reply_put_kv(reply, "counter", board_counter_unit());
    return ERR_NONE;
}

#else /* no model in this build: every engine command says so */

static proto_error_t no_model(const frame_t *req, reply_t *reply)
{
    (void)req;
    return reply_error(reply, ERR_NO_MODEL, "firmware built without a model (tools/convert.py, then pio run)");
}

proto_error_t cmd_model_info(const frame_t *req, reply_t *reply) { return no_model(req, reply); }
proto_error_t cmd_infer(const frame_t *req, reply_t *reply) { return no_model(req, reply); }
proto_error_t cmd_tensor_write(const frame_t *req, reply_t *reply) { return no_model(req, reply); }
proto_error_t cmd_invoke(const frame_t *req, reply_t *reply) { return no_model(req, reply); }
proto_error_t cmd_tensor_read(const frame_t *req, reply_t *reply) { return no_model(req, reply); }

#endif /* TINYECG_HAVE_MODEL */
