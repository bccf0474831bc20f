/*
 * protocol.h - tinyecg serial protocol v1, device side (see docs/protocol.md).
 *
 * Wire: COBS(frame) 0x00.  Frame: version u8 | type u8 | seq u16le |
 * len u16le | body[len] | crc16le, CRC-16/CCITT-FALSE over everything before
 * it.  The 0x00 delimiter lets a receiver resynchronise after any garbage.
 */
#ifndef TINYECG_PROTOCOL_H
#define TINYECG_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION       1u
#define PROTO_MAX_BODY      1024u
#define PROTO_HEADER_BYTES  6u
#define PROTO_CRC_BYTES     2u
#define PROTO_MAX_FRAME     (PROTO_HEADER_BYTES + PROTO_MAX_BODY + PROTO_CRC_BYTES)
/* COBS adds one byte per 254 plus one */
#define PROTO_MAX_ENCODED   (PROTO_MAX_FRAME + PROTO_MAX_FRAME / 254u + 1u)
#define PROTO_SEQ_NONE      0xFFFFu  /* seq of frames not answering a request */

/* Tensor chunk (TENSOR_WRITE body, TENSOR_READ reply): index u8 | total u32le |
 * offset u32le | data; a TENSOR_READ request adds length u16le to the header. */
#define PROTO_CHUNK_HEADER_BYTES 9u
#define PROTO_CHUNK_MAX_DATA     (PROTO_MAX_BODY - PROTO_CHUNK_HEADER_BYTES)
#define PROTO_READ_REQUEST_BYTES (PROTO_CHUNK_HEADER_BYTES + 2u)

/* Message types. Requests have bit 7 clear; a reply is request | 0x80. */
enum {
    MSG_PING = 0x01,       /* body: anything; reply echoes it */
    MSG_INFO = 0x02,       /* body: empty; reply: "key=value\n" text */
    MSG_MODEL_INFO = 0x03, /* engine: model id, shapes, arena */
    MSG_INFER = 0x04,      /* engine: int8 input -> int8 output + counter (one frame each way) */
    MSG_TENSOR_WRITE = 0x05, /* engine: a chunk of one input tensor */
    MSG_INVOKE = 0x06,     /* engine: run the model on the written inputs; reply: counter */
    MSG_TENSOR_READ = 0x07, /* engine: a chunk of one output tensor of the last invoke */
    MSG_TEST_FAULT = 0x0F, /* test builds only: provoke a fault */
    /* 0x10..0x1F: streaming (beat pipeline) */
    MSG_BOOT = 0x7D,       /* device -> host at reset: same text as INFO */
    MSG_FAULT = 0x7E,      /* device -> host before a fault reset */
    MSG_ERROR = 0x7F,      /* body: code u8 | offending type u8 | text */
    MSG_REPLY = 0x80,
};

/* ERROR codes (body[0] of an ERROR frame) */
typedef enum {
    ERR_NONE = 0,
    ERR_BAD_CRC = 1,       /* CRC mismatch */
    ERR_OVERSIZE = 2,      /* frame longer than PROTO_MAX_FRAME / len > PROTO_MAX_BODY */
    ERR_TRUNCATED = 3,     /* fewer bytes than header + len + crc */
    ERR_UNKNOWN_TYPE = 4,  /* no such command */
    ERR_BAD_VERSION = 5,   /* version byte != PROTO_VERSION */
    ERR_BAD_LENGTH = 6,    /* more bytes than header + len + crc, or wrong body size for the command */
    ERR_BAD_FRAMING = 7,   /* COBS decoding failed */
    ERR_RX_OVERRUN = 8,    /* bytes were lost: receive buffer full */
    ERR_BAD_REQUEST = 9,   /* body well-formed but not acceptable (state, value) */
    ERR_NO_MODEL = 10,     /* firmware built without a model */
} proto_error_t;

typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t seq;
    uint16_t len;
    const uint8_t *body;
} frame_t;

typedef enum { PROTO_RX_NONE = 0, PROTO_RX_FRAME, PROTO_RX_ERROR } proto_rx_result_t;

/* Receiver state: bytes since the last 0x00 delimiter. */
typedef struct {
    uint8_t enc[PROTO_MAX_ENCODED];
    /* COBS decodes n bytes to at most n - 1, so every chunk the reader keeps
     * decodes in full and an over-long one is answered by its length fields
     * (BAD_LENGTH / OVERSIZE), as the host decoder does, not BAD_FRAMING. */
    uint8_t dec[PROTO_MAX_ENCODED];
    size_t n;
    int overflow; /* frame longer than PROTO_MAX_ENCODED: discard until 0x00 */
} proto_rx_t;

/* Feed one received byte. On PROTO_RX_FRAME *out is a valid frame (body
 * points into rx, valid until the next call). On PROTO_RX_ERROR *err says
 * why and *out holds whatever header fields could be read (seq/type, or
 * PROTO_SEQ_NONE / 0). */
proto_rx_result_t proto_rx_feed(proto_rx_t *rx, uint8_t byte, frame_t *out, proto_error_t *err);

/* Little-endian fields of a frame body. */
static inline uint16_t proto_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t proto_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Pure helpers (also unit-tested on the host). */
uint16_t proto_crc16(const uint8_t *data, size_t n, uint16_t crc);
size_t proto_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);
/* Returns decoded length, or (size_t)-1 on malformed input. */
size_t proto_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* Transmit. The body buffer returned by proto_tx_body() may be filled in
 * place and sent with proto_send_tx() (no copy). */
uint8_t *proto_tx_body(void);
void proto_send_tx(uint8_t type, uint16_t seq, uint16_t len);
void proto_send(uint8_t type, uint16_t seq, const uint8_t *body, uint16_t len);
void proto_send_error(uint16_t seq, proto_error_t code, uint8_t ref_type, const char *text);

#endif
