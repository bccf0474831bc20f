/*
 * cortexm_startup.c - memory initialisation and fault handlers shared by all
 * Armv7-M boards. The vector table itself is per board (its IRQ list differs).
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "cortexm.h"

extern uint32_t __data_start__, __data_end__, __data_load__;
extern uint32_t __bss_start__, __bss_end__;
extern void (*__preinit_array_start[])(void);
extern void (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

void cortexm_init_memory(void)
{
    memcpy(&__data_start__, &__data_load__,
           (size_t)((uintptr_t)&__data_end__ - (uintptr_t)&__data_start__));
    memset(&__bss_start__, 0, (size_t)((uintptr_t)&__bss_end__ - (uintptr_t)&__bss_start__));
    /* C++ constructors and __attribute__((constructor)) functions */
    for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
    for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
}

extern int main(void);

/* Same on every board: run from the table we linked (the F7 boots through
 * its ITCM alias), FPU on, memory initialised, faults enabled, then main. */
void Reset_Handler(void)
{
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

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));

void cortexm_enable_faults(void)
{
    SCB_SHCSR |= SCB_SHCSR_MEMFAULTENA | SCB_SHCSR_BUSFAULTENA | SCB_SHCSR_USGFAULTENA;
}

void board_reset(void)
{
    cpu_dsb_isb();
    SCB_AIRCR = SCB_AIRCR_VECTKEY | SCB_AIRCR_SYSRESETREQ;
    cpu_dsb_isb();
    for (;;) {
    }
}

/* Fault entry: find the stacked exception frame (MSP or PSP per EXC_RETURN
 * bit 2) and hand it to C. Frame: r0 r1 r2 r3 r12 lr pc xpsr. */
#define FAULT_ENTRY(name, kind)                                              \
    void name(void) __attribute__((naked));                                  \
    void name(void)                                                          \
    {                                                                        \
        __asm volatile("tst lr, #4\n\t"                                      \
                       "ite eq\n\t"                                          \
                       "mrseq r0, msp\n\t"                                   \
                       "mrsne r0, psp\n\t"                                   \
                       "movs r1, %0\n\t"                                     \
                       "b cortexm_fault_report\n\t" ::"i"(kind));            \
    }

static const char *const fault_names[] = {"HardFault", "MemManage", "BusFault", "UsageFault"};

void cortexm_fault_report(const uint32_t *frame, uint32_t kind) __attribute__((used, noreturn));
void cortexm_fault_report(const uint32_t *frame, uint32_t kind)
{
    app_report_fault(fault_names[kind & 3u], frame[6], frame[5], SCB_CFSR, SCB_HFSR);
    board_reset();
}

FAULT_ENTRY(HardFault_Handler, 0)
FAULT_ENTRY(MemManage_Handler, 1)
FAULT_ENTRY(BusFault_Handler, 2)
FAULT_ENTRY(UsageFault_Handler, 3)
