/*
 * startup_mps2.c - vector table and reset handler for the MPS2 FPGA images
 * AN385 (Cortex-M3), AN386 (Cortex-M4F) and AN500 (Cortex-M7).
 * IRQ numbers follow the AN385/AN386/AN500 application notes: CMSDK UART n
 * has RX on IRQ 2n and TX on IRQ 2n+1.
 */
#include <stdint.h>

#include "board.h"
#include "cortexm.h"

extern uint32_t __stack_top__;
extern int main(void);

void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void);
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UART0_RX_Handler(void) __attribute__((weak, alias("Default_Handler")));

#define MPS2_IRQ_COUNT 32

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + MPS2_IRQ_COUNT] = {
    (vector_t)(uintptr_t)&__stack_top__,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    /* external interrupts */
    [16 + 0] = UART0_RX_Handler,
    [16 + 1] = Default_Handler,   /* UART0 TX (we transmit by polling) */
    [16 + 2 ... 16 + MPS2_IRQ_COUNT - 1] = Default_Handler,
};

void Reset_Handler(void)
{
    cpu_enable_fpu();
    cortexm_init_memory();
    cortexm_enable_faults();
    main();
    board_reset();
}

/* An interrupt nobody asked for is a bug: report it like a fault. */
void Default_Handler(void)
{
    app_report_fault("UnexpectedIRQ", SCB_ICSR & 0x1FFu, 0, SCB_CFSR, SCB_HFSR);
    board_reset();
}
