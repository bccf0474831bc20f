/*
 * startup_nrf52.c - vector table of the nRF52840
 * (48 peripheral interrupts; the only one with a handler is UARTE0's).
 */
#include <stdint.h>

#include "board.h"
#include "cortexm.h"
#include "regs_nrf52840.h"

#define NRF52840_IRQ_COUNT 48u

void nrf52_uarte_irq(void);

__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + NRF52840_IRQ_COUNT] = {
    CORTEXM_SYSTEM_VECTORS,
    /* external interrupts */
    [16 ... 16 + UARTE0_UART0_IRQn - 1] = Default_Handler,
    [16 + UARTE0_UART0_IRQn] = nrf52_uarte_irq,
    [16 + UARTE0_UART0_IRQn + 1 ... 16 + NRF52840_IRQ_COUNT - 1] = Default_Handler,
};
