/*
 * cmd_model.c - INFER and MODEL_INFO: run the generated model over the
 * serial protocol (see cmd_model.h for the wire format).
 */
#ifdef TINYECG_HAVE_MODEL

#include "cmd_model.h"

#include <stdint.h>

#include "board.h"
#include "model.h"
#include "model_config.h"
#include "tinynn.h" /* links the kernel library (PlatformIO LDF) */

#define STACK_PAINT 0xA5A5A5A5u
/* Left untouched below the painter's own frame. */
#define STACK_PAINT_GUARD 64u

/* Bottom of the main stack, from the linker script (weak: a board without
 * it reports stack_peak=0). */
extern uint32_t __stack_limit__[] __attribute__((weak));

static int8_t model_out[MODEL_OUTPUT_BYTES];

#ifdef MODEL_PROFILE_STEPS
/* Profiling build (tools/bench.py --profile): the generated model_invoke
 * reads this counter before the first and after each kernel call. */
extern uint32_t model_profile[MODEL_PROFILE_STEPS + 1];

uint32_t tnn_profile_clock(void)
{
    return board_counter_read();
}
#endif
static uint32_t stack_peak_bytes;

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

proto_error_t cmd_infer(const frame_t *req, reply_t *reply)
{
    if (req->len != MODEL_INPUT_BYTES) {
        reply_put_text(reply, "INFER expects ");
        reply_put_dec(reply, MODEL_INPUT_BYTES);
        reply_put_text(reply, " input bytes, got ");
        reply_put_dec(reply, req->len);
        reply_put_bytes(reply, "", 1); /* NUL: end of the error text */
        return ERR_BAD_LENGTH;
    }
    volatile uint32_t ref = 0;
    stack_paint();
    const uint32_t t0 = board_counter_read();
    const int rc = model_invoke((const int8_t *)req->body, model_out);
    const uint32_t t1 = board_counter_read();
    const uint32_t used = stack_used_below((uintptr_t)&ref);
    if (used > stack_peak_bytes) {
        stack_peak_bytes = used;
    }
    if (rc != 0) {
        return reply_error(reply, ERR_BAD_REQUEST, "model_invoke failed");
    }
    reply_put_bytes(reply, model_out, MODEL_OUTPUT_BYTES);
    reply_put_u32(reply, t1 - t0);
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
    /* counter units each kernel call took in the last INFER, in call order */
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

#endif /* TINYECG_HAVE_MODEL */
