/*
 * regs_stm32f405.h - STM32F405RG registers used by tinyecg (RM0090), for the
 * Netduino Plus 2 as QEMU emulates it (netduinoplus2). Machine-checked against
 * the SVD below (STM32F41x: the F405/F407/F415/F417 share one register map);
 * naming rules in regs_stm32l432.h. The F405 has no over-drive.
 *
 * @svd STM32F41x.svd
 * @svd-layout USART USART1
 * @svd-layout GPIO GPIOA
 * @svd-name USART1_IRQn USART1_IRQ_IRQn
 */
#ifndef TINYECG_REGS_STM32F405_H
#define TINYECG_REGS_STM32F405_H

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
#define RCC_AHB1ENR_GPIOAEN_Pos     0u
#define RCC_APB1ENR_OFFSET          0x040u
#define RCC_APB1ENR_PWREN_Pos       28u
#define RCC_APB2ENR_OFFSET          0x044u
#define RCC_APB2ENR_USART1EN_Pos    4u

/* Flash interface */
#define FLASH_BASE                  0x40023C00u
#define FLASH_ACR_OFFSET            0x000u
#define FLASH_ACR_LATENCY_Pos       0u
#define FLASH_ACR_LATENCY_Width     3u
#define FLASH_ACR_PRFTEN_Pos        8u
#define FLASH_ACR_ICEN_Pos          9u
#define FLASH_ACR_DCEN_Pos          10u

/* GPIO port A: PA9 = USART1_TX, PA10 = USART1_RX */
#define GPIOA_BASE                  0x40020000u
#define GPIO_MODER_OFFSET           0x000u
#define GPIO_MODER_MODER9_Pos       18u
#define GPIO_MODER_MODER9_Width     2u
#define GPIO_MODER_MODER10_Pos      20u
#define GPIO_MODER_MODER10_Width    2u
#define GPIO_PUPDR_OFFSET           0x00Cu
#define GPIO_PUPDR_PUPDR10_Pos      20u
#define GPIO_PUPDR_PUPDR10_Width    2u
#define GPIO_AFRH_OFFSET            0x024u
#define GPIO_AFRH_AFRH9_Pos         4u
#define GPIO_AFRH_AFRH9_Width       4u
#define GPIO_AFRH_AFRH10_Pos        8u
#define GPIO_AFRH_AFRH10_Width      4u

/* USART1 ("v1" register layout: SR/DR) -- QEMU's serial0 on netduinoplus2 */
#define USART1_BASE                 0x40011000u
#define USART1_IRQn                 37u
#define USART_SR_OFFSET             0x000u
#define USART_SR_ORE_Pos            3u
#define USART_SR_RXNE_Pos           5u
#define USART_SR_TXE_Pos            7u
#define USART_DR_OFFSET             0x004u
#define USART_BRR_OFFSET            0x008u
#define USART_CR1_OFFSET            0x00Cu
#define USART_CR1_RE_Pos            2u
#define USART_CR1_TE_Pos            3u
#define USART_CR1_RXNEIE_Pos        5u
#define USART_CR1_UE_Pos            13u

#endif
