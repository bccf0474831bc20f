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

/* RX ring buffer: power of two, written only by the ISR, read only by main. */
#define RX_RING_SIZE 4096u
static volatile uint8_t rx_ring[RX_RING_SIZE];
static volatile uint32_t rx_head; /* ISR writes */
static volatile uint32_t rx_tail; /* main reads */
static volatile uint32_t rx_overruns;

static volatile uint32_t systick_wraps;
static uint32_t asleep;

void board_init(void)
{
    UART_BAUDDIV = (uint32_t)TINYECG_CLOCK_HZ / BAUD;
    UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN | UART_CTRL_RXINTEN;
    nvic_enable_irq(UART0_RX_IRQ);

    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    cpu_enable_irq();
}

void UART0_RX_Handler(void)
{
    UART_INTSTATUS = UART_INT_RX;
    while (UART_STATE & UART_STATE_RXFULL) {
        uint8_t b = (uint8_t)UART_DATA;
        uint32_t head = rx_head;
        if (head - rx_tail < RX_RING_SIZE) {
            rx_ring[head & (RX_RING_SIZE - 1u)] = b;
            rx_head = head + 1u;
        } else {
            rx_overruns++;
        }
    }
    if (UART_STATE & UART_STATE_RXOVR) { /* hardware overrun: count and clear */
        rx_overruns++;
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

int board_uart_read(uint8_t *byte)
{
    uint32_t tail = rx_tail;
    if (tail == rx_head) {
        return 0;
    }
    *byte = rx_ring[tail & (RX_RING_SIZE - 1u)];
    rx_tail = tail + 1u;
    return 1;
}

uint32_t board_uart_overruns(void) { return rx_overruns; }

void SysTick_Handler(void) { systick_wraps++; }

static uint32_t systick_ticks(void)
{
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return (wraps << 24) + (0x00FFFFFFu - value);
}

uint32_t board_counter_read(void) { return systick_ticks() * INSTRUCTIONS_PER_TICK; }

const char *board_counter_unit(void) { return "instructions"; }

void board_wait_for_rx(void)
{
    cpu_disable_irq();
    if (rx_tail == rx_head) {
        uint32_t t0 = board_counter_read();
        cpu_wfi(); /* wakes on the pending interrupt even with PRIMASK set */
        cpu_enable_irq(); /* let the ISR run before reading the counter */
        asleep += board_counter_read() - t0;
    }
    cpu_enable_irq();
}

uint32_t board_counter_asleep(void) { return asleep; }
