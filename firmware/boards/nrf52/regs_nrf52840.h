/*
 * regs_nrf52840.h - nRF52840 registers used by tinyecg (Product
 * Specification). Machine-checked against the SVD below; naming rules in
 * firmware/boards/stm32/regs_stm32l432.h, plus:
 *   P_R_F_Value       enumerated value "Value" of field F (SVD
 *                     <enumeratedValue>)
 * Register clusters are flattened with '_' (PSEL.TXD -> PSEL_TXD), register
 * arrays are indexed (PIN_CNF[6] -> PIN_CNF6).
 *
 * @svd nrf52840.svd
 */
#ifndef TINYECG_REGS_NRF52840_H
#define TINYECG_REGS_NRF52840_H

/* Clock control: start the 64 MHz crystal oscillator (HFXO) */
#define CLOCK_BASE                          0x40000000u
#define CLOCK_TASKS_HFCLKSTART_OFFSET       0x000u
#define CLOCK_EVENTS_HFCLKSTARTED_OFFSET    0x100u
#define CLOCK_HFCLKSTAT_OFFSET              0x40Cu
#define CLOCK_HFCLKSTAT_SRC_Pos             0u
#define CLOCK_HFCLKSTAT_SRC_Xtal            1u

/* GPIO port 0: P0.06 = TXD, P0.08 = RXD (the interface MCU's VCOM0) */
#define P0_BASE                             0x50000000u
#define P0_OUTSET_OFFSET                    0x508u
#define P0_OUTSET_PIN6_Pos                  6u
#define P0_PIN_CNF6_OFFSET                  0x718u
#define P0_PIN_CNF8_OFFSET                  0x720u
#define P0_PIN_CNF6_DIR_Pos                 0u
#define P0_PIN_CNF6_DIR_Output              1u
#define P0_PIN_CNF6_INPUT_Pos               1u
#define P0_PIN_CNF6_INPUT_Disconnect        1u
#define P0_PIN_CNF8_DIR_Pos                 0u
#define P0_PIN_CNF8_DIR_Input               0u
#define P0_PIN_CNF8_INPUT_Pos               1u
#define P0_PIN_CNF8_INPUT_Connect           0u
#define P0_PIN_CNF8_PULL_Pos                2u
#define P0_PIN_CNF8_PULL_Width              2u
#define P0_PIN_CNF8_PULL_Pullup             3u

/* UARTE0: UART with EasyDMA */
#define UARTE0_BASE                         0x40002000u
#define UARTE0_UART0_IRQn                   2u
#define UARTE0_TASKS_STARTRX_OFFSET         0x000u
#define UARTE0_TASKS_STARTTX_OFFSET         0x008u
#define UARTE0_EVENTS_ENDRX_OFFSET          0x110u
#define UARTE0_EVENTS_ENDTX_OFFSET          0x120u
#define UARTE0_EVENTS_ERROR_OFFSET          0x124u
#define UARTE0_INTENSET_OFFSET              0x304u
#define UARTE0_INTENSET_ENDRX_Pos           4u
#define UARTE0_INTENSET_ERROR_Pos           9u
#define UARTE0_ERRORSRC_OFFSET              0x480u
#define UARTE0_ERRORSRC_OVERRUN_Pos         0u
#define UARTE0_ENABLE_OFFSET                0x500u
#define UARTE0_ENABLE_ENABLE_Pos            0u
#define UARTE0_ENABLE_ENABLE_Width          4u
#define UARTE0_ENABLE_ENABLE_Enabled        8u
#define UARTE0_PSEL_TXD_OFFSET              0x50Cu
#define UARTE0_PSEL_TXD_PIN_Pos             0u
#define UARTE0_PSEL_TXD_PIN_Width           5u
#define UARTE0_PSEL_TXD_PORT_Pos            5u
#define UARTE0_PSEL_TXD_CONNECT_Pos         31u
#define UARTE0_PSEL_TXD_CONNECT_Connected   0u
#define UARTE0_PSEL_RXD_OFFSET              0x514u
#define UARTE0_PSEL_RXD_PIN_Pos             0u
#define UARTE0_PSEL_RXD_PIN_Width           5u
#define UARTE0_PSEL_RXD_PORT_Pos            5u
#define UARTE0_PSEL_RXD_CONNECT_Pos         31u
#define UARTE0_PSEL_RXD_CONNECT_Connected   0u
#define UARTE0_BAUDRATE_OFFSET              0x524u
#define UARTE0_BAUDRATE_BAUDRATE_Baud115200 0x01D60000u
#define UARTE0_RXD_PTR_OFFSET               0x534u
#define UARTE0_RXD_MAXCNT_OFFSET            0x538u
#define UARTE0_RXD_AMOUNT_OFFSET            0x53Cu
#define UARTE0_TXD_PTR_OFFSET               0x544u
#define UARTE0_TXD_MAXCNT_OFFSET            0x548u
#define UARTE0_CONFIG_OFFSET                0x56Cu

#endif
