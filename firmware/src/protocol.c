/*
 * protocol.c - framing (COBS + CRC-16) and frame validation, device side.
 */
#include "protocol.h"

#include <string.h>

#include "board.h"

uint16_t proto_crc16(const uint8_t *data, size_t n, uint16_t crc)
{
    /* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no xorout.
     * Bitwise: 8 shifts per byte, no 512-byte table in flash. */
    for (size_t i = 0; i < n; ++i) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (int b = 0; b < 8; ++b) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

size_t proto_cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t code_at = 0, o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < n; ++i) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            if (++code == 0xFF) {
                out[code_at] = code;
                code_at = o++;
                code = 1;
            }
        }
    }
    out[code_at] = code;
    return o;
}

size_t proto_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t code = in[i++];
        if (code == 0) {
            return (size_t)-1;
        }
        for (uint8_t k = 1; k < code; ++k) {
            if (i >= n || in[i] == 0 || o >= cap) {
                return (size_t)-1;
            }
            out[o++] = in[i++];
        }
        if (code != 0xFF && i < n) {
            if (o >= cap) {
                return (size_t)-1;
            }
            out[o++] = 0;
        }
    }
    return o;
}

static proto_rx_result_t rx_error(frame_t *out, proto_error_t *err, proto_error_t code)
{
    *err = code;
    (void)out;
    return PROTO_RX_ERROR;
}

proto_rx_result_t proto_rx_feed(proto_rx_t *rx, uint8_t byte, frame_t *out, proto_error_t *err)
{
    if (byte != 0) {
        if (rx->n < sizeof rx->enc) {
            rx->enc[rx->n++] = byte;
        } else {
            rx->overflow = 1;
        }
        return PROTO_RX_NONE;
    }

    /* Delimiter: validate what we have, then start afresh. */
    size_t n_enc = rx->n;
    int overflow = rx->overflow;
    rx->n = 0;
    rx->overflow = 0;
    out->version = 0;
    out->type = 0;
    out->seq = PROTO_SEQ_NONE;
    out->len = 0;
    out->body = rx->dec + PROTO_HEADER_BYTES;

    if (n_enc == 0 && !overflow) {
        return PROTO_RX_NONE; /* empty frame: a host may send 0x00 to flush */
    }
    if (overflow) {
        return rx_error(out, err, ERR_OVERSIZE);
    }
    size_t n = proto_cobs_decode(rx->enc, n_enc, rx->dec, sizeof rx->dec);
    if (n == (size_t)-1) {
        return rx_error(out, err, ERR_BAD_FRAMING);
    }
    if (n >= 2) {
        out->version = rx->dec[0];
        out->type = rx->dec[1];
    }
    if (n >= 4) {
        out->seq = proto_get_u16(rx->dec + 2);
    }
    if (n < PROTO_HEADER_BYTES + PROTO_CRC_BYTES) {
        return rx_error(out, err, ERR_TRUNCATED);
    }
    out->len = proto_get_u16(rx->dec + 4);
    if (out->len > PROTO_MAX_BODY) {
        return rx_error(out, err, ERR_OVERSIZE);
    }
    size_t want = PROTO_HEADER_BYTES + (size_t)out->len + PROTO_CRC_BYTES;
    if (n < want) {
        return rx_error(out, err, ERR_TRUNCATED);
    }
    if (n > want) {
        return rx_error(out, err, ERR_BAD_LENGTH);
    }
    if (proto_crc16(rx->dec, n - PROTO_CRC_BYTES, 0xFFFFu) != proto_get_u16(rx->dec + n - PROTO_CRC_BYTES)) {
        return rx_error(out, err, ERR_BAD_CRC);
    }
    if (out->version != PROTO_VERSION) {
        return rx_error(out, err, ERR_BAD_VERSION);
    }
    return PROTO_RX_FRAME;
}

/* --- transmit ------------------------------------------------------------- */

static uint8_t tx_raw[PROTO_MAX_FRAME];
static uint8_t tx_enc[PROTO_MAX_ENCODED + 1];

uint8_t *proto_tx_body(void) { return tx_raw + PROTO_HEADER_BYTES; }

void proto_send_tx(uint8_t type, uint16_t seq, uint16_t len)
{
    if (len > PROTO_MAX_BODY) {
        len = PROTO_MAX_BODY; /* never reached by correct handlers; keeps the frame valid */
    }
    tx_raw[0] = PROTO_VERSION;
    tx_raw[1] = type;
    tx_raw[2] = (uint8_t)seq;
    tx_raw[3] = (uint8_t)(seq >> 8);
    tx_raw[4] = (uint8_t)len;
    tx_raw[5] = (uint8_t)(len >> 8);
    size_t n = PROTO_HEADER_BYTES + len;
    uint16_t crc = proto_crc16(tx_raw, n, 0xFFFFu);
    tx_raw[n++] = (uint8_t)crc;
    tx_raw[n++] = (uint8_t)(crc >> 8);
    size_t m = proto_cobs_encode(tx_raw, n, tx_enc);
    tx_enc[m++] = 0;
    board_uart_write(tx_enc, m);
}

void proto_send(uint8_t type, uint16_t seq, const uint8_t *body, uint16_t len)
{
    if (len > PROTO_MAX_BODY) {
        len = PROTO_MAX_BODY;
    }
    if (len) {
        memmove(proto_tx_body(), body, len);
    }
    proto_send_tx(type, seq, len);
}

void proto_send_error(uint16_t seq, proto_error_t code, uint8_t ref_type, const char *text)
{
    uint8_t *b = proto_tx_body();
    size_t len = strlen(text);
    if (len > PROTO_MAX_BODY - 2u) {
        len = PROTO_MAX_BODY - 2u;
    }
    b[0] = (uint8_t)code;
    b[1] = ref_type;
    memcpy(b + 2, text, len);
    proto_send_tx(MSG_ERROR, seq, (uint16_t)(2u + len));
}
