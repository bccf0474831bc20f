/*
 * board_host.c - the host shim of board.h (see board_host.h).
 */
#include "board_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t host_tx[HOST_TX_CAP];
size_t host_tx_len;
uint32_t host_uart_overruns;
static uint32_t counter = HOST_COUNTER_START;
static uint32_t asleep;

void host_tx_clear(void) { host_tx_len = 0; }

void host_counter_reset(void)
{
    counter = HOST_COUNTER_START;
    asleep = 0;
}

void board_init(void) {}

void board_uart_write(const uint8_t *data, size_t n)
{
    if (n > HOST_TX_CAP - host_tx_len) {
        /* a test that lets this much pile up has lost track of the output */
        fprintf(stderr, "board_host: transmit capture full (%zu + %zu bytes)\n", host_tx_len, n);
        abort();
    }
    memcpy(host_tx + host_tx_len, data, n);
    host_tx_len += n;
}

int board_uart_read(uint8_t *byte)
{
    (void)byte;
    return 0; /* tests feed received bytes to proto_rx_feed directly */
}

uint32_t board_uart_overruns(void) { return host_uart_overruns; }

void board_wait_for_rx(void) { asleep += HOST_COUNTER_STEP; }

uint32_t board_counter_read(void)
{
    counter += HOST_COUNTER_STEP;
    return counter;
}

const char *board_counter_unit(void) { return "instructions"; }

uint32_t board_counter_asleep(void) { return asleep; }

void board_reset(void)
{
    fprintf(stderr, "board_host: board_reset() called\n");
    abort();
}
