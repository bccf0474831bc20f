/*
 * startup_mps2.c - vector table of the MPS2 FPGA images
 * AN385 (Cortex-M3), AN386 (Cortex-M4F) and AN500 (Cortex-M7).
 * IRQ numbers follow the AN385/AN386/AN500 application notes: CMSDK UART n
 * has RX on IRQ 2n and TX on IRQ 2n+1.
 */
#include <stdint.h>

#include "board.h"
#include "cortexm.h"

#define MPS2_IRQ_COUNT 32

void UART0_RX_Handler(void);

__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + MPS2_IRQ_COUNT] = {
    CORTEXM_SYSTEM_VECTORS,
    /* external interrupts */
    [16 + 0] = UART0_RX_Handler,
    [16 + 1] = Default_Handler,   /* UART0 TX (we transmit by polling) */
    [16 + 2 ... 16 + MPS2_IRQ_COUNT - 1] = Default_Handler,
};
