/*
 * clock_stm32.c - clock tree to each board's usual maximum through the PLL.
 *
 * Order matters: voltage scaling (and over-drive) and flash wait states go up
 * before the system clock does; APB prescalers are set before the switch so
 * no bus ever runs above its limit. Every wait is bounded: a board whose
 * oscillator does not start stays on its reset clock and says so (see
 * board_init) instead of hanging before the UART is up.
 */
#include "stm32.h"

#define CLOCK_WAIT_LOOPS 2000000u   /* >= 100 ms at the 16 MHz reset clock */

static int wait_bits(volatile uint32_t *reg, uint32_t mask, uint32_t want)
{
    for (uint32_t i = 0; i < CLOCK_WAIT_LOOPS; ++i) {
        if ((*reg & mask) == want) {
            return 1;
        }
    }
    return 0;
}

static void set_flash_latency(uint32_t extra)
{
    STM32_REG(FLASH_BASE, FLASH_ACR) = FIELD(STM32_FLASH_WS, FLASH_ACR_LATENCY) |
                                       BIT(FLASH_ACR_PRFTEN_Pos) | extra;
}

/* Switch SYSCLK to the PLL (SW = SWS = 3 on L4, 2 on F4/F7). */
static uint32_t switch_to_pll(uint32_t sw_pll, uint32_t step)
{
    volatile uint32_t *cfgr = &STM32_REG(RCC_BASE, RCC_CFGR);
    uint32_t cfgr_reset = *cfgr;
    *cfgr = (*cfgr & ~(FIELD_MASK(RCC_CFGR_HPRE) | FIELD_MASK(RCC_CFGR_PPRE1) | FIELD_MASK(RCC_CFGR_PPRE2))) |
            FIELD(STM32_PPRE1, RCC_CFGR_PPRE1) | FIELD(STM32_PPRE2, RCC_CFGR_PPRE2);
    *cfgr = (*cfgr & ~FIELD_MASK(RCC_CFGR_SW)) | FIELD(sw_pll, RCC_CFGR_SW);
    if (!wait_bits(cfgr, FIELD_MASK(RCC_CFGR_SWS), FIELD(sw_pll, RCC_CFGR_SWS))) {
        *cfgr = cfgr_reset;  /* back to the reset clock with /1 buses */
        return step;
    }
    return 0;
}

#if defined(STM32_SERIES_L4)

uint32_t stm32_clock_init(void)
{
    volatile uint32_t *cr = &STM32_REG(RCC_BASE, RCC_CR);

    /* Voltage range 1 (the reset value, made explicit) */
    STM32_REG(RCC_BASE, RCC_APB1ENR1) |= BIT(RCC_APB1ENR1_PWREN_Pos);
    (void)STM32_REG(RCC_BASE, RCC_APB1ENR1);
    STM32_REG(PWR_BASE, PWR_CR1) = (STM32_REG(PWR_BASE, PWR_CR1) & ~FIELD_MASK(PWR_CR1_VOS)) |
                                   FIELD(1u, PWR_CR1_VOS);
    if (!wait_bits(&STM32_REG(PWR_BASE, PWR_SR2), BIT(PWR_SR2_VOSF_Pos), 0)) {
        return 1;
    }
    if (!wait_bits(cr, BIT(RCC_CR_MSIRDY_Pos), BIT(RCC_CR_MSIRDY_Pos))) {
        return 2;
    }

    /* Flash: wait states, prefetch, instruction and data caches */
    set_flash_latency(BIT(FLASH_ACR_ICEN_Pos) | BIT(FLASH_ACR_DCEN_Pos));
    if (!wait_bits(&STM32_REG(FLASH_BASE, FLASH_ACR), FIELD_MASK(FLASH_ACR_LATENCY),
                   FIELD(STM32_FLASH_WS, FLASH_ACR_LATENCY))) {
        return 3;
    }

    /* PLL: MSI / M x N / R */
    volatile uint32_t *pllcfgr = &STM32_REG(RCC_BASE, RCC_PLLCFGR);
    *pllcfgr = (*pllcfgr & ~(FIELD_MASK(RCC_PLLCFGR_PLLSRC) | FIELD_MASK(RCC_PLLCFGR_PLLM) |
                             FIELD_MASK(RCC_PLLCFGR_PLLN) | FIELD_MASK(RCC_PLLCFGR_PLLR))) |
               FIELD(1u, RCC_PLLCFGR_PLLSRC) |              /* 01 = MSI */
               FIELD(STM32_PLLM - 1u, RCC_PLLCFGR_PLLM) |
               FIELD(STM32_PLLN, RCC_PLLCFGR_PLLN) |
               FIELD(STM32_PLLR / 2u - 1u, RCC_PLLCFGR_PLLR) |
               BIT(RCC_PLLCFGR_PLLREN_Pos);
    *cr |= BIT(RCC_CR_PLLON_Pos);
    if (!wait_bits(cr, BIT(RCC_CR_PLLRDY_Pos), BIT(RCC_CR_PLLRDY_Pos))) {
        return 4;
    }
    return switch_to_pll(3u, 5);
}

#else /* STM32F4, STM32F7 */

uint32_t stm32_clock_init(void)
{
    volatile uint32_t *cr = &STM32_REG(RCC_BASE, RCC_CR);

#if defined(STM32_OVERDRIVE)
    /* Voltage scale 1 */
    STM32_REG(RCC_BASE, RCC_APB1ENR) |= BIT(RCC_APB1ENR_PWREN_Pos);
    (void)STM32_REG(RCC_BASE, RCC_APB1ENR);
    STM32_REG(PWR_BASE, PWR_CTRL) = (STM32_REG(PWR_BASE, PWR_CTRL) & ~FIELD_MASK(PWR_CTRL_VOS)) |
                                    FIELD(3u, PWR_CTRL_VOS);
#endif

    /* HSE: the ST-LINK's 8 MHz MCO (bypass) or a crystal */
#if STM32_HSE_BYPASS
    *cr |= BIT(RCC_CR_HSEBYP_Pos);
#endif
    *cr |= BIT(RCC_CR_HSEON_Pos);
    if (!wait_bits(cr, BIT(RCC_CR_HSERDY_Pos), BIT(RCC_CR_HSERDY_Pos))) {
        return 1;
    }

    /* PLL: HSE / M x N / P (reserved bits keep their reset values) */
    volatile uint32_t *pllcfgr = &STM32_REG(RCC_BASE, RCC_PLLCFGR);
    *pllcfgr = (*pllcfgr & ~(FIELD_MASK(RCC_PLLCFGR_PLLM) | FIELD_MASK(RCC_PLLCFGR_PLLN) |
                             FIELD_MASK(RCC_PLLCFGR_PLLP) | BIT(RCC_PLLCFGR_PLLSRC_Pos) |
                             FIELD_MASK(RCC_PLLCFGR_PLLQ))) |
               FIELD(STM32_PLLM, RCC_PLLCFGR_PLLM) |
               FIELD(STM32_PLLN, RCC_PLLCFGR_PLLN) |
               FIELD(STM32_PLLP / 2u - 1u, RCC_PLLCFGR_PLLP) |
               BIT(RCC_PLLCFGR_PLLSRC_Pos) |                 /* 1 = HSE */
               FIELD(STM32_PLLQ, RCC_PLLCFGR_PLLQ);
    *cr |= BIT(RCC_CR_PLLON_Pos);
    if (!wait_bits(cr, BIT(RCC_CR_PLLRDY_Pos), BIT(RCC_CR_PLLRDY_Pos))) {
        return 2;
    }

#if defined(STM32_OVERDRIVE)
    /* Over-drive: needed above 168 MHz (F42x) / 180 MHz (F7) */
    volatile uint32_t *pwr_status = &STM32_REG(PWR_BASE, PWR_STATUS);
    STM32_REG(PWR_BASE, PWR_CTRL) |= BIT(PWR_CTRL_ODEN_Pos);
    if (!wait_bits(pwr_status, BIT(PWR_STATUS_ODRDY_Pos), BIT(PWR_STATUS_ODRDY_Pos))) {
        return 3;
    }
    STM32_REG(PWR_BASE, PWR_CTRL) |= BIT(PWR_CTRL_ODSWEN_Pos);
    if (!wait_bits(pwr_status, BIT(PWR_STATUS_ODSWRDY_Pos), BIT(PWR_STATUS_ODSWRDY_Pos))) {
        return 4;
    }
#endif

    /* Flash wait states (+ F4 instruction/data caches) before the switch */
#if defined(STM32_SERIES_F4)
    set_flash_latency(BIT(FLASH_ACR_ICEN_Pos) | BIT(FLASH_ACR_DCEN_Pos));
#else
    set_flash_latency(0);
#endif
    if (!wait_bits(&STM32_REG(FLASH_BASE, FLASH_ACR), FIELD_MASK(FLASH_ACR_LATENCY),
                   FIELD(STM32_FLASH_WS, FLASH_ACR_LATENCY))) {
        return 5;
    }
    return switch_to_pll(2u, 6);
}

#endif
