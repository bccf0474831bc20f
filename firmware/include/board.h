/*
 * board.h - what the application needs from a board, and nothing more.
 *
 * Each board family (firmware/boards/<family>/) implements these functions.
 * The application never touches a register: porting to a new MCU means one
 * new folder with startup code, a linker script and this interface.
 */
#ifndef TINYECG_BOARD_H
#define TINYECG_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Clocks, UART (interrupt-driven receive), cycle counter, fault reporting. */
void board_init(void);

/* Blocking transmit of n bytes. */
void board_uart_write(const uint8_t *data, size_t n);

/* Take one received byte from the RX ring buffer (filled by the UART
 * interrupt). Returns 1 and stores it in *byte, or 0 when the buffer is empty. */
int board_uart_read(uint8_t *byte);

/* Bytes lost because the RX ring buffer was full (0 in a healthy system). */
uint32_t board_uart_overruns(void);

/* Sleep (WFI) until an interrupt, unless a received byte is already waiting.
 * Race-free: checks the buffer with interrupts masked, then WFI. */
void board_wait_for_rx(void);

/* Free-running 32-bit counter: CPU cycles on real boards (DWT CYCCNT),
 * instructions on QEMU boards (SysTick under -icount shift=0, see
 * board_counter_unit). Wraps; subtract with uint32_t arithmetic. */
uint32_t board_counter_read(void);

/* "cycles" or "instructions": what board_counter_read counts. */
const char *board_counter_unit(void);

/* Counter units (cycles or instructions) spent asleep in board_wait_for_rx
 * since boot, for the duty cycle. */
uint32_t board_counter_asleep(void);

/* Reset the MCU (after a fault report, or on request). */
void board_reset(void) __attribute__((noreturn));

/* Called by the fault handlers with the stacked PC and fault status; the
 * application reports it over the UART (see app_report_fault). */
void app_report_fault(const char *kind, uint32_t pc, uint32_t lr, uint32_t cfsr, uint32_t hfsr);

#endif
