/*
 * board_host.h - firmware/include/board.h on the host, for tests that compile
 * the device's C with a host compiler (libFuzzer targets, tests/test_protocol.py).
 *
 * What the device transmits is captured in memory; the counter advances by a
 * fixed step per read and starts just below 2^32, so every stream crosses the
 * 32-bit wrap the device's 64-bit accumulators must survive.  Nothing else of
 * a board exists here: no registers, no interrupts, no receive ring (tests feed
 * bytes to proto_rx_feed or frames to commands_dispatch themselves).
 */
#ifndef TINYECG_BOARD_HOST_H
#define TINYECG_BOARD_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "board.h"

#define HOST_TX_CAP (256u * 1024u)
#define HOST_COUNTER_START 0xFFFF0000u
#define HOST_COUNTER_STEP 40u      /* one 25 MHz SysTick tick of QEMU instructions */

/* Bytes board_uart_write sent since the last host_tx_clear(). */
extern uint8_t host_tx[HOST_TX_CAP];
extern size_t host_tx_len;
void host_tx_clear(void);

/* Value board_uart_overruns() returns (tests may raise it). */
extern uint32_t host_uart_overruns;

/* Restart the counters at HOST_COUNTER_START. */
void host_counter_reset(void);

#endif
