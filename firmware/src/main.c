/*
 * main.c - tinyecg firmware: receive frames, run commands, sleep when idle.
 *
 * The main loop never busy-polls: with nothing received it sleeps in WFI
 * until the UART interrupt (or SysTick) wakes it.
 */
#include <stdint.h>

#include "board.h"
#include "commands.h"
#include "protocol.h"

static proto_rx_t rx;

static const char *error_text(proto_error_t e)
{
    switch (e) {
    case ERR_BAD_CRC: return "CRC mismatch";
    case ERR_OVERSIZE: return "frame exceeds maximum size";
    case ERR_TRUNCATED: return "frame shorter than its header says";
    case ERR_BAD_VERSION: return "unsupported protocol version";
    case ERR_BAD_LENGTH: return "frame longer than its header says";
    case ERR_BAD_FRAMING: return "COBS framing error";
    default: return "malformed frame";
    }
}

void app_report_fault(const char *kind, uint32_t pc, uint32_t lr, uint32_t cfsr, uint32_t hfsr)
{
    reply_t r = {proto_tx_body(), 0, PROTO_MAX_BODY};
    reply_put_kv(&r, "fault", kind);
    reply_put_text(&r, "pc=");
    reply_put_hex(&r, pc);
    reply_put_text(&r, "\nlr=");
    reply_put_hex(&r, lr);
    reply_put_text(&r, "\ncfsr=");
    reply_put_hex(&r, cfsr);
    reply_put_text(&r, "\nhfsr=");
    reply_put_hex(&r, hfsr);
    reply_put_text(&r, "\n");
    proto_send_tx(MSG_FAULT, PROTO_SEQ_NONE, r.len);
}

int main(void)
{
    board_init();

    reply_t boot = {proto_tx_body(), 0, PROTO_MAX_BODY};
    info_text(&boot);
    proto_send_tx(MSG_BOOT, PROTO_SEQ_NONE, boot.len);

    uint32_t overruns_reported = 0;
    for (;;) {
        uint8_t byte;
        while (!board_uart_read(&byte)) {
            board_wait_for_rx();
        }
        frame_t frame;
        proto_error_t err = ERR_NONE;
        switch (proto_rx_feed(&rx, byte, &frame, &err)) {
        case PROTO_RX_FRAME:
            commands_dispatch(&frame);
            break;
        case PROTO_RX_ERROR:
            proto_send_error(frame.seq, err, frame.type, error_text(err));
            break;
        default:
            break;
        }
        uint32_t overruns = board_uart_overruns();
        if (overruns != overruns_reported) {
            overruns_reported = overruns;
            proto_send_error(PROTO_SEQ_NONE, ERR_RX_OVERRUN, 0, "receive buffer overrun: bytes lost");
        }
    }
}
