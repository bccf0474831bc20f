/*
 * board_nrf52.c - nRF52840 DK board support: HFXO start, UARTE0 on the
 * interface MCU's virtual COM port (P0.06 TX, P0.08 RX, 115200 8N1, no flow
 * control), DWT CYCCNT cycle counter, SysTick, WFI sleep.
 *
 * UARTE moves data by EasyDMA, which reads and writes RAM only:
 * - RX: a one-byte DMA buffer; each ENDRX interrupt takes the byte into the
 *   ring buffer and starts the next reception (bytes arriving meanwhile wait
 *   in the UARTE's RX FIFO); a FIFO overrun is counted from ERRORSRC.
 * - TX (polled): data is copied through a small RAM buffer, STARTTX, wait
 *   for ENDTX -- so constant strings in flash can be sent too.
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "board_common.h"
#include "cortexm.h"
#include "regs_nrf52840.h"

#define NRF_REG(base, reg) REG32((base) + reg##_OFFSET)
#define UARTE(reg) NRF_REG(UARTE0_BASE, UARTE0_##reg)
#define BIT(pos) (1u << (pos))

#define VCP_TX_PIN 6u
#define VCP_RX_PIN 8u
#define HFXO_WAIT_LOOPS 2000000u

static volatile uint8_t rx_dma_byte;
static uint8_t tx_dma_buf[64];

static int hfxo_start(void)
{
    NRF_REG(CLOCK_BASE, CLOCK_EVENTS_HFCLKSTARTED) = 0;
    NRF_REG(CLOCK_BASE, CLOCK_TASKS_HFCLKSTART) = 1;
    for (uint32_t i = 0; i < HFXO_WAIT_LOOPS; ++i) {
        if (NRF_REG(CLOCK_BASE, CLOCK_EVENTS_HFCLKSTARTED)) {
            return (NRF_REG(CLOCK_BASE, CLOCK_HFCLKSTAT) & BIT(CLOCK_HFCLKSTAT_SRC_Pos)) ==
                   (CLOCK_HFCLKSTAT_SRC_Xtal << CLOCK_HFCLKSTAT_SRC_Pos);
        }
    }
    return 0;
}

static void uarte_init(void)
{
    /* TX idles high; RX is an input with a pull-up (line idle when unplugged) */
    NRF_REG(P0_BASE, P0_OUTSET) = BIT(P0_OUTSET_PIN6_Pos);
    NRF_REG(P0_BASE, P0_PIN_CNF6) = (P0_PIN_CNF6_DIR_Output << P0_PIN_CNF6_DIR_Pos) |
                                    (P0_PIN_CNF6_INPUT_Disconnect << P0_PIN_CNF6_INPUT_Pos);
    NRF_REG(P0_BASE, P0_PIN_CNF8) = (P0_PIN_CNF8_DIR_Input << P0_PIN_CNF8_DIR_Pos) |
                                    (P0_PIN_CNF8_INPUT_Connect << P0_PIN_CNF8_INPUT_Pos) |
                                    (P0_PIN_CNF8_PULL_Pullup << P0_PIN_CNF8_PULL_Pos);

    UARTE(PSEL_TXD) = (VCP_TX_PIN << UARTE0_PSEL_TXD_PIN_Pos) | (0u << UARTE0_PSEL_TXD_PORT_Pos) |
                      (UARTE0_PSEL_TXD_CONNECT_Connected << UARTE0_PSEL_TXD_CONNECT_Pos);
    UARTE(PSEL_RXD) = (VCP_RX_PIN << UARTE0_PSEL_RXD_PIN_Pos) | (0u << UARTE0_PSEL_RXD_PORT_Pos) |
                      (UARTE0_PSEL_RXD_CONNECT_Connected << UARTE0_PSEL_RXD_CONNECT_Pos);
    UARTE(BAUDRATE) = UARTE0_BAUDRATE_BAUDRATE_Baud115200;
    UARTE(CONFIG) = 0;   /* no hardware flow control, no parity, one stop bit */
    UARTE(ENABLE) = UARTE0_ENABLE_ENABLE_Enabled << UARTE0_ENABLE_ENABLE_Pos;

    UARTE(RXD_PTR) = (uint32_t)(uintptr_t)&rx_dma_byte;
    UARTE(RXD_MAXCNT) = 1;
    UARTE(EVENTS_ENDRX) = 0;
    UARTE(EVENTS_ERROR) = 0;
    UARTE(INTENSET) = BIT(UARTE0_INTENSET_ENDRX_Pos) | BIT(UARTE0_INTENSET_ERROR_Pos);
    nvic_enable_irq(UARTE0_UART0_IRQn);
    UARTE(TASKS_STARTRX) = 1;
}

void nrf52_uarte_irq(void)
{
    if (UARTE(EVENTS_ERROR)) {
        UARTE(EVENTS_ERROR) = 0;
        uint32_t src = UARTE(ERRORSRC);
        UARTE(ERRORSRC) = src;  /* write 1 to clear */
        if (src & BIT(UARTE0_ERRORSRC_OVERRUN_Pos)) {
            board_rx_overrun();
        }
    }
    if (UARTE(EVENTS_ENDRX)) {
        UARTE(EVENTS_ENDRX) = 0;
        uint32_t got = UARTE(RXD_AMOUNT);
        uint8_t b = rx_dma_byte;
        UARTE(TASKS_STARTRX) = 1;  /* the buffer is read: receive the next byte */
        if (got == 1u) {
            board_rx_push(b);
        }
    }
    (void)UARTE(EVENTS_ENDRX);  /* event writes must land before the ISR returns */
}

void board_uart_write(const uint8_t *data, size_t n)
{
    while (n) {
        size_t chunk = n < sizeof tx_dma_buf ? n : sizeof tx_dma_buf;
        memcpy(tx_dma_buf, data, chunk);
        UARTE(TXD_PTR) = (uint32_t)(uintptr_t)tx_dma_buf;
        UARTE(TXD_MAXCNT) = chunk;
        UARTE(EVENTS_ENDTX) = 0;
        UARTE(TASKS_STARTTX) = 1;
        while (!UARTE(EVENTS_ENDTX)) {
        }
        UARTE(EVENTS_ENDTX) = 0;
        data += chunk;
        n -= chunk;
    }
}

/* --- counter: DWT CYCCNT; SysTick (which runs in sleep) times the sleep ----- */

uint32_t board_counter_read(void) { return DWT_CYCCNT; }

const char *board_counter_unit(void) { return "cycles"; }

/* SysTick ticks are processor cycles and SysTick runs in sleep: it times it. */
uint32_t board_sleep_clock(void) { return (uint32_t)systick_ticks(); }

void board_init(void)
{
    int hfxo_ok = hfxo_start();
    uarte_init();

    DEMCR |= DEMCR_TRCENA;
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    systick_start();
    cpu_enable_irq();

    if (!hfxo_ok) {
        /* Not fatal: the CPU still runs at 64 MHz from the RC oscillator,
         * but UART timing is less accurate; say so. */
        app_report_fault("ClockFail", 1, 0, 0, 0);
    }
}
