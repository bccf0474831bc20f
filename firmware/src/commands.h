/*
 * commands.h - the command table: one entry per request type.
 *
 * A handler reads the request and writes its reply body into reply->body
 * (capacity reply->cap). Return ERR_NONE to send `type | MSG_REPLY` with
 * reply->len bytes, or an error code to send an ERROR frame whose text is
 * the NUL-terminated string the handler left in reply->body (reply_error,
 * reply_error_end).
 * Features add their commands to the table in commands.c.
 */
#ifndef TINYECG_COMMANDS_H
#define TINYECG_COMMANDS_H

#include <stdint.h>

#include "protocol.h"

typedef struct {
    uint8_t *body;
    uint16_t len;
    uint16_t cap;
} reply_t;

typedef proto_error_t (*command_fn)(const frame_t *req, reply_t *reply);

typedef struct {
    uint8_t type;
    const char *name;
    command_fn handler;
} command_t;

/* Run the handler for req and send its reply or ERROR. */
void commands_dispatch(const frame_t *req);

/* Helpers for handlers. */
proto_error_t reply_error(reply_t *reply, proto_error_t code, const char *text);
/* The text put with reply_put_* so far is the ERROR text: NUL-terminate it, return code. */
proto_error_t reply_error_end(reply_t *reply, proto_error_t code);
void reply_put_u16(reply_t *reply, uint16_t v);
void reply_put_u32(reply_t *reply, uint32_t v);
void reply_put_bytes(reply_t *reply, const void *data, uint16_t n);
void reply_put_text(reply_t *reply, const char *s);
void reply_put_dec(reply_t *reply, uint32_t v);
void reply_put_hex(reply_t *reply, uint32_t v);
void reply_put_kv(reply_t *reply, const char *key, const char *value);
void reply_put_kv_dec(reply_t *reply, const char *key, uint32_t value);

/* INFO text, also sent in the BOOT frame. */
void info_text(reply_t *reply);

#endif
