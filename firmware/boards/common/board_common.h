/*
 * board_common.h - the parts of board.h that every board implements the
 * same way, written once (board_common.c):
 *
 * - the UART receive ring buffer: the board's UART interrupt hands each byte
 *   to board_rx_push(); board_uart_read() and board_uart_overruns() are here;
 * - SysTick on the processor clock, extended to 64 bits by its wrap
 *   interrupt (systick_start, systick_ticks, SysTick_Handler);
 * - board_wait_for_rx(): WFI sleep, timed with the board's sleep clock.
 *
 * What a board adds: its UART driver and clocks, board_init (which calls
 * systick_start), the counter (board_counter_read / board_counter_unit) and
 * board_sleep_clock.
 */
#ifndef TINYECG_BOARD_COMMON_H
#define TINYECG_BOARD_COMMON_H

#include <stdint.h>

/* Ring capacity: a power of two; 4 KiB holds 3 maximal protocol frames. */
#define BOARD_RX_RING_SIZE 4096u

/* From the UART receive interrupt only: store one byte (counted as an
 * overrun when the ring is full). */
void board_rx_push(uint8_t byte);

/* From the UART interrupt: the hardware lost a byte (receiver overrun). */
void board_rx_overrun(void);

/* Start SysTick: processor clock, full 24-bit reload, wrap interrupt on. */
void systick_start(void);

/* Processor-clock ticks since systick_start. Safe with interrupts masked
 * (accounts for a wrap whose interrupt is still pending). SysTick keeps
 * counting in Sleep mode, so it can time sleep where DWT CYCCNT pauses. */
uint64_t systick_ticks(void);

/* Board hook: the clock board_wait_for_rx times sleep with, in the units of
 * board_counter_read (cycles or instructions). */
uint32_t board_sleep_clock(void);

#endif
