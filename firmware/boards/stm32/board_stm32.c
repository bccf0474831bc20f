/*
 * board_stm32.c - board support shared by every STM32 board: the USART on the
 * debugger's virtual COM port (interrupt-driven RX into a ring buffer, polled
 * TX; one driver for the F4 "v1" and the L4/F7 "v2" register layouts), the
 * counter (DWT CYCCNT cycles, or SysTick instructions under QEMU), WFI sleep,
 * and on the Cortex-M7 the L1 caches.
 */
#include <stdint.h>

#include "board.h"
#include "board_common.h"
#include "stm32.h"

#define BAUD 115200u

/* --- GPIO ------------------------------------------------------------------ */

static void gpio_alternate(uint32_t port, uint32_t moder_pos, volatile uint32_t *afr,
                           uint32_t af_pos, uint32_t af)
{
    *afr = (*afr & ~(0xFu << af_pos)) | (af << af_pos);
    STM32_REG(port, GPIO_MODER) = (STM32_REG(port, GPIO_MODER) & ~(3u << moder_pos)) |
                                  (2u << moder_pos);  /* 10 = alternate function */
}

static void gpio_pull_up(uint32_t port, uint32_t pupdr_pos)
{
    STM32_REG(port, GPIO_PUPDR) = (STM32_REG(port, GPIO_PUPDR) & ~(3u << pupdr_pos)) |
                                  (1u << pupdr_pos);  /* 01 = pull-up */
}

/* --- USART ------------------------------------------------------------------- */

#define USART(reg) STM32_REG(VCP_USART_BASE, reg)

static void usart_init(uint32_t pclk_hz)
{
    VCP_CLOCKS_ENABLE();
    VCP_PINS_CONFIGURE();
    USART(USART_CR1) = 0;
    /* 16x oversampling: BRR = fck / baud in both layouts (v1 reads it as
     * mantissa.fraction in sixteenths, which is the same number) */
    USART(USART_BRR) = (pclk_hz + BAUD / 2u) / BAUD;
    USART(USART_CR1) = BIT(USART_CR1_TE_Pos) | BIT(USART_CR1_RE_Pos) | BIT(USART_CR1_RXNEIE_Pos);
    USART(USART_CR1) |= BIT(USART_CR1_UE_Pos);
    nvic_enable_irq(VCP_USART_IRQn);
}

/* RXNEIE also raises the interrupt on an overrun (ORE). */
void stm32_usart_irq(void)
{
    for (;;) {
        uint32_t status = USART(USART_STATUS);
        if (status & BIT(USART_STATUS_ORE_Pos)) {
            board_rx_overrun();
#if defined(STM32_USART_V2)
            USART(USART_ICR) = BIT(USART_ICR_ORECF_Pos);
#endif
            /* v1: the read of SR above and of DR below clears ORE */
        }
#if defined(STM32_USART_V2)
        if (status & (BIT(USART_ISR_FE_Pos) | BIT(USART_ISR_NF_Pos))) {
            USART(USART_ICR) = BIT(USART_ICR_FECF_Pos) | BIT(USART_ICR_NCF_Pos);
        }
#endif
        if (!(status & (BIT(USART_STATUS_RXNE_Pos) | BIT(USART_STATUS_ORE_Pos)))) {
            return;
        }
        uint8_t b = (uint8_t)USART(USART_RXDATA);
        if (!(status & BIT(USART_STATUS_RXNE_Pos))) {
            continue;  /* v1 overrun without data: the DR read only cleared ORE */
        }
        board_rx_push(b);
    }
}

void board_uart_write(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        while (!(USART(USART_STATUS) & BIT(USART_STATUS_TXE_Pos))) {
        }
        USART(USART_TXDATA) = data[i];
    }
}

/* --- Cortex-M7 L1 caches (Armv7-M ARM B4.8; core registers, not in the SVD) -- */

#if defined(STM32_SERIES_F7)
#define SCB_CCR      REG32(0xE000ED14u)
#define SCB_CCSIDR   REG32(0xE000ED80u)
#define SCB_CSSELR   REG32(0xE000ED84u)
#define SCB_ICIALLU  REG32(0xE000EF50u)
#define SCB_DCISW    REG32(0xE000EF60u)
#define SCB_CCR_DC   (1u << 16)
#define SCB_CCR_IC   (1u << 17)

static void m7_caches_enable(void)
{
    cpu_dsb_isb();
    SCB_ICIALLU = 0;                       /* invalidate the I-cache */
    cpu_dsb_isb();
    SCB_CCR |= SCB_CCR_IC;
    cpu_dsb_isb();

    SCB_CSSELR = 0;                        /* level 1 data cache */
    cpu_dsb_isb();
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = (ccsidr >> 13) & 0x7FFFu;
    do {                                   /* invalidate by set/way: M7 has */
        uint32_t ways = (ccsidr >> 3) & 0x3FFu;   /* 32-byte lines, 4 ways */
        do {
            SCB_DCISW = (sets << 5) | (ways << 30);
        } while (ways-- != 0u);
    } while (sets-- != 0u);
    cpu_dsb_isb();
    SCB_CCR |= SCB_CCR_DC;
    cpu_dsb_isb();
}
#endif

/* --- counter ------------------------------------------------------------------- */

#if TINYECG_COUNTER_IS_CYCLES

static void counter_init(void)
{
    DEMCR |= DEMCR_TRCENA;
#if defined(STM32_SERIES_F7)
    DWT_LAR = 0xC5ACCE55u;   /* the M7's DWT is locked until this key is written */
#endif
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
}

uint32_t board_counter_read(void) { return DWT_CYCCNT; }

const char *board_counter_unit(void) { return "cycles"; }

/* SysTick ticks are processor cycles, and SysTick runs in Sleep mode
 * (DWT CYCCNT may pause there): it times the sleep. */
uint32_t board_sleep_clock(void) { return (uint32_t)systick_ticks(); }

#else /* QEMU: no DWT; SysTick under -icount shift=0 counts instructions */

/* One SysTick tick on the processor clock is 1e9 / TINYECG_CLOCK_HZ ns of
 * virtual time = that many instructions; as an exact fraction NUM / DEN
 * (168 MHz: 125/21) so the 32-bit result wraps cleanly. */
#ifndef STM32_EMU_INSN_PER_TICK_NUM
#error "instruction-counting STM32 build needs STM32_EMU_INSN_PER_TICK_NUM/DEN"
#endif
_Static_assert((uint64_t)STM32_EMU_INSN_PER_TICK_NUM * TINYECG_CLOCK_HZ ==
               (uint64_t)STM32_EMU_INSN_PER_TICK_DEN * 1000000000u,
               "instructions per SysTick tick must equal 1e9 / TINYECG_CLOCK_HZ");

static void counter_init(void) {}

uint32_t board_counter_read(void)
{
    return (uint32_t)(systick_ticks() * STM32_EMU_INSN_PER_TICK_NUM / STM32_EMU_INSN_PER_TICK_DEN);
}

const char *board_counter_unit(void) { return "instructions"; }

uint32_t board_sleep_clock(void) { return board_counter_read(); }

#endif

/* --- init and sleep ---------------------------------------------------------- */

void board_init(void)
{
#if defined(STM32_SERIES_F7)
    m7_caches_enable();
#endif
#if defined(STM32_EMULATED)
    uint32_t clock_failed = 0;            /* QEMU models no RCC: keep its clock */
    uint32_t pclk = VCP_PCLK_HZ;
#else
    uint32_t clock_failed = stm32_clock_init();
    uint32_t pclk = clock_failed ? STM32_RESET_CLOCK_HZ : VCP_PCLK_HZ;
#endif
    usart_init(pclk);
    counter_init();

    systick_start();
    cpu_enable_irq();

    if (clock_failed) {
        /* Not fatal: the board works on its reset clock, but every speed
         * figure would be wrong, so say it first (pc = the failed step). */
        app_report_fault("ClockFail", clock_failed, 0, 0, 0);
    }
}
