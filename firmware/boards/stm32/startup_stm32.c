/*
 * startup_stm32.c - vector table of the STM32 boards.
 * The table is as long as the MCU's (STM32_IRQ_COUNT); the only interrupt
 * with a handler of its own is the VCP USART's.
 */
#include <stdint.h>

#include "board.h"
#include "stm32.h"

void stm32_usart_irq(void);

__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + STM32_IRQ_COUNT] = {
    CORTEXM_SYSTEM_VECTORS,
    /* external interrupts */
    [16 ... 16 + VCP_USART_IRQn - 1] = Default_Handler,
    [16 + VCP_USART_IRQn] = stm32_usart_irq,
    [16 + VCP_USART_IRQn + 1 ... 16 + STM32_IRQ_COUNT - 1] = Default_Handler,
};
