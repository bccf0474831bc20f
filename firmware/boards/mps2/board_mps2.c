/*
 * board_mps2.c - MPS2 board support: CMSDK APB UART0 (interrupt-driven RX,
 * polled TX), SysTick counter, WFI sleep.
 *
 * Counter: QEMU implements no DWT CYCCNT, so we count with SysTick on the
 * 25 MHz processor clock.  Under `qemu-system-arm -icount shift=0` one guest
 * instruction is 1 ns of virtual time, so one SysTick tick is
 * 1e9 / 25e6 = 40 instructions: board_counter_read() returns instructions
 * with a resolution of 40.
 */
#include <stdint.h>

#include "board.h"
#include "board_common.h"
#include "cortexm.h"

/* CMSDK APB UART0 */
#define UART0_BASE      0x40004000u
#define UART_DATA       REG32(UART0_BASE + 0x00u)
#define UART_STATE      REG32(UART0_BASE + 0x04u)
#define UART_CTRL       REG32(UART0_BASE + 0x08u)
#define UART_INTSTATUS  REG32(UART0_BASE + 0x0Cu)  /* write 1 to clear */
#define UART_BAUDDIV    REG32(UART0_BASE + 0x10u)
#define UART_STATE_TXFULL  (1u << 0)
#define UART_STATE_RXFULL  (1u << 1)
#define UART_STATE_RXOVR   (1u << 3)
#define UART_CTRL_TXEN     (1u << 0)
#define UART_CTRL_RXEN     (1u << 1)
#define UART_CTRL_RXINTEN  (1u << 3)
#define UART_INT_RX        (1u << 1)
#define UART0_RX_IRQ       0u
#define BAUD               115200u

#define INSTRUCTIONS_PER_TICK (1000000000u / (uint32_t)TINYECG_CLOCK_HZ)

void board_init(void)
{
    UART_BAUDDIV = (uint32_t)TINYECG_CLOCK_HZ / BAUD;
    UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN | UART_CTRL_RXINTEN;
    nvic_enable_irq(UART0_RX_IRQ);

    systick_start();
    cpu_enable_irq();
}

void UART0_RX_Handler(void)
{
    UART_INTSTATUS = UART_INT_RX;
    while (UART_STATE & UART_STATE_RXFULL) {
        board_rx_push((uint8_t)UART_DATA);
    }
    if (UART_STATE & UART_STATE_RXOVR) { /* hardware overrun: count and clear */
        board_rx_overrun();
        UART_STATE = UART_STATE_RXOVR;
    }
}

void board_uart_write(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        while (UART_STATE & UART_STATE_TXFULL) {
        }
        UART_DATA = data[i];
    }
}

uint32_t board_counter_read(void) { return (uint32_t)systick_ticks() * INSTRUCTIONS_PER_TICK; }

const char *board_counter_unit(void) { return "instructions"; }

/* Under -icount the instruction count is virtual time: it times sleep too. */
uint32_t board_sleep_clock(void) { return board_counter_read(); }
