/*
 * stm32.h - which STM32, which board: register map, clock plan and the
 * USART wired to the virtual COM port, selected by the board JSON's
 * build.extra_flags (-DSTM32_BOARD_<NAME>).
 *
 * Register addresses and bit positions live in regs_<mcu>.h (checked against
 * the vendor SVDs by tests/test_board_registers.py); what is here are board
 * facts from the user manuals and datasheets: pins, alternate functions,
 * oscillators, the PLL plan.
 *
 * USART register layouts: STM32F4 USARTs are "v1" (SR, DR, BRR at 0x08, CR1
 * at 0x0C; UE is CR1 bit 13), STM32L4 and STM32F7 USARTs are "v2" (CR1 at
 * 0x00 with UE at bit 0, BRR at 0x0C, ISR/ICR/RDR/TDR). One driver
 * (board_stm32.c) serves both; STM32_USART_V2 selects the few lines that
 * differ.
 */
#ifndef TINYECG_STM32_H
#define TINYECG_STM32_H

#include <stdint.h>

#include "cortexm.h"

#define STM32_REG(base, reg) REG32((base) + reg##_OFFSET)
#define BIT(pos) (1u << (pos))
#define FIELD(value, name) (((uint32_t)(value) & ((1u << name##_Width) - 1u)) << name##_Pos)
#define FIELD_MASK(name) (((1u << name##_Width) - 1u) << name##_Pos)

#if defined(STM32_BOARD_NUCLEO_L432KC)
/* NUCLEO-L432KC (UM1956): ST-LINK VCP on USART2, PA2 (TX, AF7) / PA15 (RX, AF3).
 * No HSE fitted by default: the PLL runs from MSI 4 MHz (its reset range)
 * x40 /2 = 80 MHz in voltage range 1, 4 flash wait states (RM0394 3.3.3). */
#include "regs_stm32l432.h"
#define STM32_SERIES_L4      1
#define STM32_USART_V2       1
#define STM32_RESET_CLOCK_HZ 4000000u       /* MSI range 6 after reset */
#define STM32_PLLM           1u             /* 4 MHz VCO input */
#define STM32_PLLN           40u            /* 160 MHz VCO */
#define STM32_PLLR           2u             /* 80 MHz system clock */
#define STM32_FLASH_WS       4u
#define STM32_PPRE1          0u             /* APB1 = 80 MHz */
#define STM32_PPRE2          0u             /* APB2 = 80 MHz */
#define VCP_PCLK_HZ          80000000u
#define VCP_USART_BASE       USART2_BASE
#define VCP_USART_IRQn       USART2_IRQn
#define STM32_IRQ_COUNT      85u            /* RM0394: IRQ 0..84 on the L43x */
#define VCP_GPIO_BASE        GPIOA_BASE
#define VCP_CLOCKS_ENABLE()                                                   \
    do {                                                                      \
        STM32_REG(RCC_BASE, RCC_AHB2ENR) |= BIT(RCC_AHB2ENR_GPIOAEN_Pos);     \
        STM32_REG(RCC_BASE, RCC_APB1ENR1) |= BIT(RCC_APB1ENR1_USART2EN_Pos);  \
        (void)STM32_REG(RCC_BASE, RCC_APB1ENR1);                              \
    } while (0)
#define VCP_PINS_CONFIGURE()                                                  \
    do {                                                                      \
        gpio_alternate(VCP_GPIO_BASE, GPIO_MODER_MODER2_Pos,                  \
                       &STM32_REG(VCP_GPIO_BASE, GPIO_AFRL), GPIO_AFRL_AFRL2_Pos, 7u); \
        gpio_alternate(VCP_GPIO_BASE, GPIO_MODER_MODER15_Pos,                 \
                       &STM32_REG(VCP_GPIO_BASE, GPIO_AFRH), GPIO_AFRH_AFRH15_Pos, 3u); \
        gpio_pull_up(VCP_GPIO_BASE, GPIO_PUPDR_PUPDR15_Pos);                  \
    } while (0)

#elif defined(STM32_BOARD_NUCLEO_F429ZI) || defined(STM32_BOARD_NUCLEO_F767ZI)
/* NUCLEO-F429ZI (UM1974) / NUCLEO-F767ZI: ST-LINK VCP on USART3, PD8 (TX) /
 * PD9 (RX), AF7. HSE = 8 MHz from the ST-LINK's MCO (bypass mode). */
#if defined(STM32_BOARD_NUCLEO_F429ZI)
#include "regs_stm32f429.h"
#define STM32_SERIES_F4      1
#define STM32_PLLN           180u           /* 2 MHz x 180 = 360 MHz VCO */
#define STM32_PLLQ           8u             /* 45 MHz (unused: no USB) */
#define STM32_FLASH_WS       5u             /* 180 MHz at 2.7-3.6 V (RM0090 3.5.1) */
#define VCP_PCLK_HZ          45000000u      /* APB1 = 180 / 4 */
#define STM32_IRQ_COUNT      91u            /* RM0090: IRQ 0..90 on the F42x */
#define PWR_CTRL_OFFSET      PWR_CR_OFFSET
#define PWR_STATUS_OFFSET    PWR_CSR_OFFSET
#define PWR_CTRL_VOS_Pos     PWR_CR_VOS_Pos
#define PWR_CTRL_VOS_Width   PWR_CR_VOS_Width
#define PWR_CTRL_ODEN_Pos    PWR_CR_ODEN_Pos
#define PWR_CTRL_ODSWEN_Pos  PWR_CR_ODSWEN_Pos
#define PWR_STATUS_ODRDY_Pos   PWR_CSR_ODRDY_Pos
#define PWR_STATUS_ODSWRDY_Pos PWR_CSR_ODSWRDY_Pos
#else
#include "regs_stm32f767.h"
#define STM32_SERIES_F7      1
#define STM32_USART_V2       1
#define STM32_PLLN           216u           /* 2 MHz x 216 = 432 MHz VCO */
#define STM32_PLLQ           9u             /* 48 MHz */
#define STM32_FLASH_WS       7u             /* 216 MHz at 2.7-3.6 V (RM0410 3.3.2) */
#define VCP_PCLK_HZ          54000000u      /* APB1 = 216 / 4 */
#define STM32_IRQ_COUNT      110u           /* RM0410: IRQ 0..109 on the F76x */
#define PWR_CTRL_OFFSET      PWR_CR1_OFFSET
#define PWR_STATUS_OFFSET    PWR_CSR1_OFFSET
#define PWR_CTRL_VOS_Pos     PWR_CR1_VOS_Pos
#define PWR_CTRL_VOS_Width   PWR_CR1_VOS_Width
#define PWR_CTRL_ODEN_Pos    PWR_CR1_ODEN_Pos
#define PWR_CTRL_ODSWEN_Pos  PWR_CR1_ODSWEN_Pos
#define PWR_STATUS_ODRDY_Pos   PWR_CSR1_ODRDY_Pos
#define PWR_STATUS_ODSWRDY_Pos PWR_CSR1_ODSWRDY_Pos
#endif
#define STM32_OVERDRIVE      1
#define STM32_RESET_CLOCK_HZ 16000000u      /* HSI after reset */
#define STM32_HSE_BYPASS     1
#define STM32_PLLM           4u             /* 8 MHz HSE / 4 = 2 MHz VCO input */
#define STM32_PLLP           2u
#define STM32_PPRE1          5u             /* /4 */
#define STM32_PPRE2          4u             /* /2 */
#define VCP_USART_BASE       USART3_BASE
#define VCP_USART_IRQn       USART3_IRQn
#define VCP_GPIO_BASE        GPIOD_BASE
#define VCP_CLOCKS_ENABLE()                                                   \
    do {                                                                      \
        STM32_REG(RCC_BASE, RCC_AHB1ENR) |= BIT(RCC_AHB1ENR_GPIODEN_Pos);     \
        STM32_REG(RCC_BASE, RCC_APB1ENR) |= BIT(RCC_APB1ENR_USART3EN_Pos);    \
        (void)STM32_REG(RCC_BASE, RCC_APB1ENR);                               \
    } while (0)
#define VCP_PINS_CONFIGURE()                                                  \
    do {                                                                      \
        gpio_alternate(VCP_GPIO_BASE, GPIO_MODER_MODER8_Pos,                  \
                       &STM32_REG(VCP_GPIO_BASE, GPIO_AFRH), GPIO_AFRH_AFRH8_Pos, 7u); \
        gpio_alternate(VCP_GPIO_BASE, GPIO_MODER_MODER9_Pos,                  \
                       &STM32_REG(VCP_GPIO_BASE, GPIO_AFRH), GPIO_AFRH_AFRH9_Pos, 7u); \
        gpio_pull_up(VCP_GPIO_BASE, GPIO_PUPDR_PUPDR9_Pos);                   \
    } while (0)

#elif defined(STM32_BOARD_NETDUINOPLUS2)
/* Netduino Plus 2 (STM32F405RG, 25 MHz crystal): USART1 on PA9 (TX) / PA10
 * (RX), AF7 -- QEMU's serial0 on the netduinoplus2 machine. On silicon the
 * PLL would run 25 MHz / 25 x 336 / 2 = 168 MHz; built with STM32_EMULATED
 * (QEMU 7.2 models no RCC: HSERDY/PLLRDY read 0 forever) the clock tree is
 * left alone and everything else runs the real driver path. */
#include "regs_stm32f405.h"
#define STM32_SERIES_F4      1
#define STM32_RESET_CLOCK_HZ 16000000u
#define STM32_HSE_BYPASS     0
#define STM32_PLLM           25u
#define STM32_PLLN           336u
#define STM32_PLLP           2u
#define STM32_PLLQ           7u
#define STM32_FLASH_WS       5u
#define STM32_PPRE1          5u             /* APB1 = 42 MHz */
#define STM32_PPRE2          4u             /* APB2 = 84 MHz */
#define VCP_PCLK_HZ          84000000u
#define VCP_USART_BASE       USART1_BASE
#define VCP_USART_IRQn       USART1_IRQn
#define STM32_IRQ_COUNT      82u            /* RM0090: IRQ 0..81 on the F405 */
#define VCP_GPIO_BASE        GPIOA_BASE
#define VCP_CLOCKS_ENABLE()                                                   \
    do {                                                                      \
        STM32_REG(RCC_BASE, RCC_AHB1ENR) |= BIT(RCC_AHB1ENR_GPIOAEN_Pos);     \
        STM32_REG(RCC_BASE, RCC_APB2ENR) |= BIT(RCC_APB2ENR_USART1EN_Pos);    \
        (void)STM32_REG(RCC_BASE, RCC_APB2ENR);                               \
    } while (0)
#define VCP_PINS_CONFIGURE()                                                  \
    do {                                                                      \
        gpio_alternate(VCP_GPIO_BASE, GPIO_MODER_MODER9_Pos,                  \
                       &STM32_REG(VCP_GPIO_BASE, GPIO_AFRH), GPIO_AFRH_AFRH9_Pos, 7u); \
        gpio_alternate(VCP_GPIO_BASE, GPIO_MODER_MODER10_Pos,                 \
                       &STM32_REG(VCP_GPIO_BASE, GPIO_AFRH), GPIO_AFRH_AFRH10_Pos, 7u); \
        gpio_pull_up(VCP_GPIO_BASE, GPIO_PUPDR_PUPDR10_Pos);                  \
    } while (0)

#else
#error "unknown STM32 board: the board JSON must set build.extra_flags -DSTM32_BOARD_<NAME>"
#endif

/* USART register roles in the two layouts */
#if defined(STM32_USART_V2)
#define USART_STATUS_OFFSET   USART_ISR_OFFSET
#define USART_RXDATA_OFFSET   USART_RDR_OFFSET
#define USART_TXDATA_OFFSET   USART_TDR_OFFSET
#define USART_STATUS_RXNE_Pos USART_ISR_RXNE_Pos
#define USART_STATUS_TXE_Pos  USART_ISR_TXE_Pos
#define USART_STATUS_ORE_Pos  USART_ISR_ORE_Pos
#else
#define USART_STATUS_OFFSET   USART_SR_OFFSET
#define USART_RXDATA_OFFSET   USART_DR_OFFSET
#define USART_TXDATA_OFFSET   USART_DR_OFFSET
#define USART_STATUS_RXNE_Pos USART_SR_RXNE_Pos
#define USART_STATUS_TXE_Pos  USART_SR_TXE_Pos
#define USART_STATUS_ORE_Pos  USART_SR_ORE_Pos
#endif

/* Clock tree (clock_stm32.c). Returns 0, or the step that timed out (the
 * board then stays on its reset clock, STM32_RESET_CLOCK_HZ). */
uint32_t stm32_clock_init(void);

#endif
