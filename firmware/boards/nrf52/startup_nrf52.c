/*
 * startup_nrf52.c - vector table and reset handler for the nRF52840
 * (48 peripheral interrupts; the only one with a handler is UARTE0's).
 */
#include <stdint.h>

#include "board.h"
#include "cortexm.h"
#include "regs_nrf52840.h"

#define NRF52840_IRQ_COUNT 48u

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
void SysTick_Handler(void);
void nrf52_uarte_irq(void);

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + NRF52840_IRQ_COUNT] = {
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
    [16 ... 16 + UARTE0_UART0_IRQn - 1] = Default_Handler,
    [16 + UARTE0_UART0_IRQn] = nrf52_uarte_irq,
    [16 + UARTE0_UART0_IRQn + 1 ... 16 + NRF52840_IRQ_COUNT - 1] = Default_Handler,
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
