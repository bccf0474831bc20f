/*
 * commands.c - command table and the base commands PING and INFO.
 */
#include "commands.h"

#include <string.h>

#include "board.h"
#include "cmd_model.h"
#include "stream.h"
#include "version.h"
#ifdef TINYECG_HAVE_MODEL
#include "model_config.h"
#endif

/* --- reply helpers (bounded: never write past reply->cap) ------------------ */

void reply_put_bytes(reply_t *reply, const void *data, uint16_t n)
{
    uint16_t room = (uint16_t)(reply->cap - reply->len);
    if (n > room) {
        n = room;
    }
    memcpy(reply->body + reply->len, data, n);
    reply->len = (uint16_t)(reply->len + n);
}

void reply_put_u16(reply_t *reply, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    reply_put_bytes(reply, b, 2);
}

void reply_put_u32(reply_t *reply, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    reply_put_bytes(reply, b, 4);
}

void reply_put_text(reply_t *reply, const char *s) { reply_put_bytes(reply, s, (uint16_t)strlen(s)); }

void reply_put_dec(reply_t *reply, uint32_t v)
{
    char buf[11];
    int i = (int)sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    reply_put_bytes(reply, buf + i, (uint16_t)(sizeof buf - (size_t)i));
}

void reply_put_hex(reply_t *reply, uint32_t v)
{
    char buf[10] = {'0', 'x'};
    for (int i = 0; i < 8; ++i) {
        buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xFu];
    }
    reply_put_bytes(reply, buf, 10);
}

void reply_put_kv(reply_t *reply, const char *key, const char *value)
{
    reply_put_text(reply, key);
    reply_put_text(reply, "=");
    reply_put_text(reply, value);
    reply_put_text(reply, "\n");
}

void reply_put_kv_dec(reply_t *reply, const char *key, uint32_t value)
{
    reply_put_text(reply, key);
    reply_put_text(reply, "=");
    reply_put_dec(reply, value);
    reply_put_text(reply, "\n");
}

proto_error_t reply_error_end(reply_t *reply, proto_error_t code)
{
    if (reply->len >= reply->cap) {
        reply->len = (uint16_t)(reply->cap - 1u);
    }
    reply->body[reply->len] = 0;
    return code;
}

proto_error_t reply_error(reply_t *reply, proto_error_t code, const char *text)
{
    size_t n = strlen(text);
    if (n >= reply->cap) {
        n = reply->cap - 1u;
    }
    memcpy(reply->body, text, n);
    reply->body[n] = 0;
    return code;
}

/* --- base commands -------------------------------------------------------- */

void info_text(reply_t *reply)
{
    reply_put_kv_dec(reply, "protocol", PROTO_VERSION);
    reply_put_kv(reply, "firmware", TINYECG_FW_VERSION);
    reply_put_kv(reply, "board", TINYECG_BOARD);
    reply_put_kv(reply, "cpu", TINYECG_CPU);
    reply_put_kv_dec(reply, "clock_hz", TINYECG_CLOCK_HZ);
    reply_put_kv(reply, "counter", board_counter_unit());
    reply_put_kv(reply, "build", TINYECG_BUILD_ID);
#ifdef TINYECG_HAVE_MODEL
    reply_put_kv(reply, "model", MODEL_ID);
#else
    reply_put_kv(reply, "model", "none");
#endif
    reply_put_kv_dec(reply, "max_body", PROTO_MAX_BODY);
#if defined(__ARM_FEATURE_DSP)
    reply_put_kv(reply, "dsp", "yes");
#else
    reply_put_kv(reply, "dsp", "no");
#endif
}

static proto_error_t cmd_ping(const frame_t *req, reply_t *reply)
{
    reply_put_bytes(reply, req->body, req->len);
    return ERR_NONE;
}

static proto_error_t cmd_info(const frame_t *req, reply_t *reply)
{
    if (req->len != 0) {
        return reply_error(reply, ERR_BAD_LENGTH, "INFO takes an empty body");
    }
    info_text(reply);
    return ERR_NONE;
}

#ifdef TINYECG_TEST_COMMANDS
/* Test builds only: read from an unmapped address to prove that a fault is
 * reported over the UART and the device comes back. */
static proto_error_t cmd_test_fault(const frame_t *req, reply_t *reply)
{
    (void)req;
    (void)reply;
    volatile uint32_t *bad = (volatile uint32_t *)0xF0000000u;
    return (proto_error_t)(*bad & 0u);
}
#endif

static const command_t command_table[] = {
    {MSG_PING, "PING", cmd_ping},
    {MSG_INFO, "INFO", cmd_info},
    {MSG_MODEL_INFO, "MODEL_INFO", cmd_model_info},
    {MSG_INFER, "INFER", cmd_infer},
    {MSG_TENSOR_WRITE, "TENSOR_WRITE", cmd_tensor_write},
    {MSG_INVOKE, "INVOKE", cmd_invoke},
    {MSG_TENSOR_READ, "TENSOR_READ", cmd_tensor_read},
    {MSG_STREAM_START, "STREAM_START", cmd_stream_start},
    {MSG_STREAM_DATA, "STREAM_DATA", cmd_stream_data},
    {MSG_STREAM_DATA8, "STREAM_DATA8", cmd_stream_data8},
    {MSG_STREAM_STOP, "STREAM_STOP", cmd_stream_stop},
    {MSG_STREAM_STATUS, "STREAM_STATUS", cmd_stream_status},
#ifdef TINYECG_TEST_COMMANDS
    {MSG_TEST_FAULT, "TEST_FAULT", cmd_test_fault},
#endif
};

void commands_dispatch(const frame_t *req)
{
    reply_t reply = {proto_tx_body(), 0, PROTO_MAX_BODY};
    for (size_t i = 0; i < sizeof command_table / sizeof command_table[0]; ++i) {
        const command_t *c = &command_table[i];
        if (c->type != req->type || c->handler == 0) {
            continue;
        }
        proto_error_t err = c->handler(req, &reply);
        if (err == ERR_NONE) {
            proto_send_tx((uint8_t)(req->type | MSG_REPLY), req->seq, reply.len);
        } else {
            /* the handler left its message in the TX body: copy it out first */
            char text[96];
            size_t n = 0;
            while (n < sizeof text - 1u && reply.body[n] != 0) {
                n++;
            }
            memcpy(text, reply.body, n);
            text[n] = 0;
            proto_send_error(req->seq, err, req->type, text);
        }
        return;
    }
    proto_send_error(req->seq, ERR_UNKNOWN_TYPE, req->type, "unknown message type");
}
