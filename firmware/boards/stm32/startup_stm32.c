/*
 * startup_stm32.c - vector table and reset handler for the STM32 boards.
 * The table is as long as the MCU's (STM32_IRQ_COUNT); the only interrupt
 * with a handler of its own is the VCP USART's.
 */
#include <stdint.h>

#include "board.h"
#include "stm32.h"

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
void stm32_usart_irq(void);

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + STM32_IRQ_COUNT] = {
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
    [16 ... 16 + VCP_USART_IRQn - 1] = Default_Handler,
    [16 + VCP_USART_IRQn] = stm32_usart_irq,
    [16 + VCP_USART_IRQn + 1 ... 16 + STM32_IRQ_COUNT - 1] = Default_Handler,
};

void Reset_Handler(void)
{
    /* The F7 boots through its ITCM alias; run the table we linked. */
    SCB_VTOR = (uint32_t)(uintptr_t)vector_table;
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
