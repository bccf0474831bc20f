/*
 * regs_stm32l432.h - STM32L432KC registers used by tinyecg (RM0394).
 *
 * Machine-checked: tests/test_board_registers.py looks every define up in the
 * vendor SVD named below (bundled with pyocd) and fails on any mismatch or on
 * a name it cannot find. Only checkable names belong here:
 *   P_BASE            peripheral base address
 *   P_IRQn            interrupt number (SVD <interrupt>)
 *   P_R_OFFSET        register offset in the peripheral
 *   P_R_F_Pos         bit position of field F (a 1-bit field unless ...)
 *   P_R_F_Width       ... its width is given too
 * where P may be a layout alias (@svd-layout ALIAS PERIPHERAL) for code
 * shared by all instances of a peripheral.
 *
 * @svd STM32L4x2.svd
 * @svd-layout USART USART2
 * @svd-layout GPIO GPIOA
 */
#ifndef TINYECG_REGS_STM32L432_H
#define TINYECG_REGS_STM32L432_H

/* Reset and clock control */
#define RCC_BASE                    0x40021000u
#define RCC_CR_OFFSET               0x000u
#define RCC_CR_MSIRDY_Pos           1u
#define RCC_CR_PLLON_Pos            24u
#define RCC_CR_PLLRDY_Pos           25u
#define RCC_CFGR_OFFSET             0x008u
#define RCC_CFGR_SW_Pos             0u
#define RCC_CFGR_SW_Width           2u
#define RCC_CFGR_SWS_Pos            2u
#define RCC_CFGR_SWS_Width          2u
#define RCC_CFGR_HPRE_Pos           4u
#define RCC_CFGR_HPRE_Width         4u
#define RCC_CFGR_PPRE1_Pos          8u
#define RCC_CFGR_PPRE1_Width        3u
#define RCC_CFGR_PPRE2_Pos          11u
#define RCC_CFGR_PPRE2_Width        3u
#define RCC_PLLCFGR_OFFSET          0x00Cu
#define RCC_PLLCFGR_PLLSRC_Pos      0u
#define RCC_PLLCFGR_PLLSRC_Width    2u
#define RCC_PLLCFGR_PLLM_Pos        4u
#define RCC_PLLCFGR_PLLM_Width      3u
#define RCC_PLLCFGR_PLLN_Pos        8u
#define RCC_PLLCFGR_PLLN_Width      7u
#define RCC_PLLCFGR_PLLREN_Pos      24u
#define RCC_PLLCFGR_PLLR_Pos        25u
#define RCC_PLLCFGR_PLLR_Width      2u
#define RCC_AHB2ENR_OFFSET          0x04Cu
#define RCC_AHB2ENR_GPIOAEN_Pos     0u
#define RCC_APB1ENR1_OFFSET         0x058u
#define RCC_APB1ENR1_USART2EN_Pos   17u
#define RCC_APB1ENR1_PWREN_Pos      28u

/* Power control: voltage range 1 (needed above 26 MHz) */
#define PWR_BASE                    0x40007000u
#define PWR_CR1_OFFSET              0x000u
#define PWR_CR1_VOS_Pos             9u
#define PWR_CR1_VOS_Width           2u
#define PWR_SR2_OFFSET              0x014u
#define PWR_SR2_VOSF_Pos            10u

/* Flash interface: wait states and caches */
#define FLASH_BASE                  0x40022000u
#define FLASH_ACR_OFFSET            0x000u
#define FLASH_ACR_LATENCY_Pos       0u
#define FLASH_ACR_LATENCY_Width     3u
#define FLASH_ACR_PRFTEN_Pos        8u
#define FLASH_ACR_ICEN_Pos          9u
#define FLASH_ACR_DCEN_Pos          10u

/* GPIO port A: PA2 = USART2_TX, PA15 = USART2_RX (the ST-LINK VCP) */
#define GPIOA_BASE                  0x48000000u
#define GPIO_MODER_OFFSET           0x000u
#define GPIO_MODER_MODER2_Pos       4u
#define GPIO_MODER_MODER2_Width     2u
#define GPIO_MODER_MODER15_Pos      30u
#define GPIO_MODER_MODER15_Width    2u
#define GPIO_PUPDR_OFFSET           0x00Cu
#define GPIO_PUPDR_PUPDR15_Pos      30u
#define GPIO_PUPDR_PUPDR15_Width    2u
#define GPIO_AFRL_OFFSET            0x020u
#define GPIO_AFRL_AFRL2_Pos         8u
#define GPIO_AFRL_AFRL2_Width       4u
#define GPIO_AFRH_OFFSET            0x024u
#define GPIO_AFRH_AFRH15_Pos        28u
#define GPIO_AFRH_AFRH15_Width      4u

/* USART2 ("v2" register layout: ISR/ICR/RDR/TDR) */
#define USART2_BASE                 0x40004400u
#define USART2_IRQn                 38u
#define USART_CR1_OFFSET            0x000u
#define USART_CR1_UE_Pos            0u
#define USART_CR1_RE_Pos            2u
#define USART_CR1_TE_Pos            3u
#define USART_CR1_RXNEIE_Pos        5u
#define USART_BRR_OFFSET            0x00Cu
#define USART_ISR_OFFSET            0x01Cu
#define USART_ISR_FE_Pos            1u
#define USART_ISR_NF_Pos            2u
#define USART_ISR_ORE_Pos           3u
#define USART_ISR_RXNE_Pos          5u
#define USART_ISR_TXE_Pos           7u
#define USART_ICR_OFFSET            0x020u
#define USART_ICR_FECF_Pos          1u
#define USART_ICR_NCF_Pos           2u
#define USART_ICR_ORECF_Pos         3u
#define USART_RDR_OFFSET            0x024u
#define USART_TDR_OFFSET            0x028u

#endif
