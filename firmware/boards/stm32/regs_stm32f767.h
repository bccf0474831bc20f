/*
 * regs_stm32f767.h - STM32F767ZI registers used by tinyecg (RM0410).
 * Naming rules in regs_stm32l432.h.
 *
 * pyocd bundles no STM32F7 SVD, so this header is checked against the SVDs
 * of the same IP blocks: RM0410 keeps the STM32F42x RCC, PWR, FLASH_ACR and
 * GPIO layouts, base addresses and interrupt numbers for every field used
 * here (the F7 names PWR_CR1/PWR_CSR1 are F4's PWR_CR/PWR_CSR), and the F7
 * USART is the same "v2" IP as the STM32L4's. F7-only fields (FLASH_ACR
 * ARTEN, RCC_PLLCFGR PLLR, RCC_DCKCFGR2) are deliberately not touched: the
 * image runs from the AXIM flash alias (0x08000000) through the M7 caches,
 * where the ART accelerator does not apply, and the reset values select
 * PCLK1 as the USART3 kernel clock.
 *
 * @svd STM32F429x.svd
 * @svd-layout USART STM32L4x2.svd:USART2
 * @svd-layout GPIO GPIOD
 * @svd-name PWR_CR1 PWR_CR
 * @svd-name PWR_CSR1 PWR_CSR
 */
#ifndef TINYECG_REGS_STM32F767_H
#define TINYECG_REGS_STM32F767_H

/* Reset and clock control */
#define RCC_BASE                    0x40023800u
#define RCC_CR_OFFSET               0x000u
#define RCC_CR_HSEON_Pos            16u
#define RCC_CR_HSERDY_Pos           17u
#define RCC_CR_HSEBYP_Pos           18u
#define RCC_CR_PLLON_Pos            24u
#define RCC_CR_PLLRDY_Pos           25u
#define RCC_PLLCFGR_OFFSET          0x004u
#define RCC_PLLCFGR_PLLM_Pos        0u
#define RCC_PLLCFGR_PLLM_Width      6u
#define RCC_PLLCFGR_PLLN_Pos        6u
#define RCC_PLLCFGR_PLLN_Width      9u
#define RCC_PLLCFGR_PLLP_Pos        16u
#define RCC_PLLCFGR_PLLP_Width      2u
#define RCC_PLLCFGR_PLLSRC_Pos      22u
#define RCC_PLLCFGR_PLLQ_Pos        24u
#define RCC_PLLCFGR_PLLQ_Width      4u
#define RCC_CFGR_OFFSET             0x008u
#define RCC_CFGR_SW_Pos             0u
#define RCC_CFGR_SW_Width           2u
#define RCC_CFGR_SWS_Pos            2u
#define RCC_CFGR_SWS_Width          2u
#define RCC_CFGR_HPRE_Pos           4u
#define RCC_CFGR_HPRE_Width         4u
#define RCC_CFGR_PPRE1_Pos          10u
#define RCC_CFGR_PPRE1_Width        3u
#define RCC_CFGR_PPRE2_Pos          13u
#define RCC_CFGR_PPRE2_Width        3u
#define RCC_AHB1ENR_OFFSET          0x030u
#define RCC_AHB1ENR_GPIODEN_Pos     3u
#define RCC_APB1ENR_OFFSET          0x040u
#define RCC_APB1ENR_USART3EN_Pos    18u
#define RCC_APB1ENR_PWREN_Pos       28u

/* Power control: scale 1 + over-drive for 216 MHz */
#define PWR_BASE                    0x40007000u
#define PWR_CR1_OFFSET              0x000u
#define PWR_CR1_VOS_Pos             14u
#define PWR_CR1_VOS_Width           2u
#define PWR_CR1_ODEN_Pos            16u
#define PWR_CR1_ODSWEN_Pos          17u
#define PWR_CSR1_OFFSET             0x004u
#define PWR_CSR1_ODRDY_Pos          16u
#define PWR_CSR1_ODSWRDY_Pos        17u

/* Flash interface (LATENCY is 4 bits on the F7; we write values <= 7, which
 * the 3 bits the F42x SVD describes can check) */
#define FLASH_BASE                  0x40023C00u
#define FLASH_ACR_OFFSET            0x000u
#define FLASH_ACR_LATENCY_Pos       0u
#define FLASH_ACR_LATENCY_Width     3u
#define FLASH_ACR_PRFTEN_Pos        8u

/* GPIO port D: PD8 = USART3_TX, PD9 = USART3_RX (the ST-LINK VCP) */
#define GPIOD_BASE                  0x40020C00u
#define GPIO_MODER_OFFSET           0x000u
#define GPIO_MODER_MODER8_Pos       16u
#define GPIO_MODER_MODER8_Width     2u
#define GPIO_MODER_MODER9_Pos       18u
#define GPIO_MODER_MODER9_Width     2u
#define GPIO_PUPDR_OFFSET           0x00Cu
#define GPIO_PUPDR_PUPDR9_Pos       18u
#define GPIO_PUPDR_PUPDR9_Width     2u
#define GPIO_AFRH_OFFSET            0x024u
#define GPIO_AFRH_AFRH8_Pos         0u
#define GPIO_AFRH_AFRH8_Width       4u
#define GPIO_AFRH_AFRH9_Pos         4u
#define GPIO_AFRH_AFRH9_Width       4u

/* USART3 ("v2" register layout: ISR/ICR/RDR/TDR) */
#define USART3_BASE                 0x40004800u
#define USART3_IRQn                 39u
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
