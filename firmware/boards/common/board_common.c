/*
 * board_common.c - receive ring buffer, SysTick extension and WFI sleep,
 * shared by every board (see board_common.h).
 */
#include "board_common.h"

#include "board.h"
#include "cortexm.h"

#define SCB_ICSR_PENDSTSET (1u << 26)

/* Written only by the UART interrupt (head) and only by main (tail). */
static volatile uint8_t rx_ring[BOARD_RX_RING_SIZE];
static volatile uint32_t rx_head;
static volatile uint32_t rx_tail;
static volatile uint32_t rx_overruns;

static volatile uint32_t systick_wraps;
static uint32_t asleep;

void board_rx_push(uint8_t byte)
{
    uint32_t head = rx_head;
    if (head - rx_tail < BOARD_RX_RING_SIZE) {
        rx_ring[head & (BOARD_RX_RING_SIZE - 1u)] = byte;
        rx_head = head + 1u;
    } else {
        rx_overruns++;
    }
}

void board_rx_overrun(void) { rx_overruns++; }

int board_uart_read(uint8_t *byte)
{
    uint32_t tail = rx_tail;
    if (tail == rx_head) {
        return 0;
    }
    *byte = rx_ring[tail & (BOARD_RX_RING_SIZE - 1u)];
    rx_tail = tail + 1u;
    return 1;
}

uint32_t board_uart_overruns(void) { return rx_overruns; }

void systick_start(void)
{
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

void SysTick_Handler(void) { systick_wraps++; }

uint64_t systick_ticks(void)
{
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    /* with interrupts masked (board_wait_for_rx) a wrap may be pending: the
     * counter then reads high again although the wrap is not counted yet */
    if ((SCB_ICSR & SCB_ICSR_PENDSTSET) && value > 0x00800000u) {
        wraps++;
    }
    return ((uint64_t)wraps << 24) + (0x00FFFFFFu - value);
}

void board_wait_for_rx(void)
{
    cpu_disable_irq();
    if (rx_tail == rx_head) {
        uint32_t t0 = board_sleep_clock();
        cpu_wfi();        /* wakes on the pending interrupt even with PRIMASK set */
        cpu_enable_irq(); /* let the ISR run before reading the clock */
        asleep += board_sleep_clock() - t0;
    }
    cpu_enable_irq();
}

uint32_t board_counter_asleep(void) { return asleep; }
