/*
 * cortexm.h - the few Armv7-M system registers tinyecg uses (SCB, NVIC,
 * SysTick, DWT), named as in the Armv7-M Architecture Reference Manual.
 * Shared by every board family; no vendor headers needed.
 */
#ifndef TINYECG_CORTEXM_H
#define TINYECG_CORTEXM_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System control block */
#define SCB_ICSR   REG32(0xE000ED04u)
#define SCB_VTOR   REG32(0xE000ED08u)
#define SCB_AIRCR  REG32(0xE000ED0Cu)
#define SCB_SCR    REG32(0xE000ED10u)
#define SCB_SHCSR  REG32(0xE000ED24u)
#define SCB_CFSR   REG32(0xE000ED28u)
#define SCB_HFSR   REG32(0xE000ED2Cu)
#define SCB_CPACR  REG32(0xE000ED88u)
#define SCB_AIRCR_VECTKEY      (0x05FAu << 16)
#define SCB_AIRCR_SYSRESETREQ  (1u << 2)
#define SCB_SHCSR_MEMFAULTENA  (1u << 16)
#define SCB_SHCSR_BUSFAULTENA  (1u << 17)
#define SCB_SHCSR_USGFAULTENA  (1u << 18)

/* NVIC: set-enable and priority registers */
#define NVIC_ISER(n)  REG32(0xE000E100u + 4u * (n))
#define NVIC_ICPR(n)  REG32(0xE000E280u + 4u * (n))

static inline void nvic_enable_irq(unsigned irq)
{
    NVIC_ICPR(irq >> 5) = 1u << (irq & 31u);
    NVIC_ISER(irq >> 5) = 1u << (irq & 31u);
}

/* SysTick (24-bit down-counter) */
#define SYST_CSR   REG32(0xE000E010u)
#define SYST_RVR   REG32(0xE000E014u)
#define SYST_CVR   REG32(0xE000E018u)
#define SYST_CSR_ENABLE     (1u << 0)
#define SYST_CSR_TICKINT    (1u << 1)
#define SYST_CSR_CLKSOURCE  (1u << 2)  /* 1 = processor clock */

/* Data watchpoint and trace unit: cycle counter (not implemented by QEMU) */
#define DEMCR       REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL    REG32(0xE0001000u)
#define DWT_CYCCNT  REG32(0xE0001004u)
#define DWT_LAR     REG32(0xE0001FB0u)   /* Cortex-M7 lock access register */
#define DWT_CTRL_CYCCNTENA (1u << 0)

static inline void cpu_disable_irq(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void cpu_enable_irq(void)  { __asm volatile("cpsie i" ::: "memory"); }
static inline void cpu_wfi(void)         { __asm volatile("dsb\n\twfi" ::: "memory"); }
static inline void cpu_dsb_isb(void)     { __asm volatile("dsb\n\tisb" ::: "memory"); }

/* Enable the FPU (CP10/CP11 full access) when the build uses it. Without this
 * the first float instruction raises a NOCP UsageFault. */
static inline void cpu_enable_fpu(void)
{
#if defined(__ARM_FP)
    SCB_CPACR |= (0xFu << 20);
    cpu_dsb_isb();
#endif
}

/* Exception handlers (cortexm_startup.c unless a board defines its own;
 * SysTick_Handler is in board_common.c) and the first 16 vector table
 * entries, the same on every Armv7-M part. A board's startup file defines
 * `vector_table` as CORTEXM_SYSTEM_VECTORS followed by its IRQs. */
typedef void (*vector_t)(void);
extern const vector_t vector_table[];
extern uint32_t __stack_top__;
void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SVC_Handler(void);
void DebugMon_Handler(void);
void PendSV_Handler(void);
void SysTick_Handler(void);

#define CORTEXM_SYSTEM_VECTORS                                                     \
    (vector_t)(uintptr_t)&__stack_top__, Reset_Handler, NMI_Handler,               \
        HardFault_Handler, MemManage_Handler, BusFault_Handler, UsageFault_Handler, \
        0, 0, 0, 0, SVC_Handler, DebugMon_Handler, 0, PendSV_Handler, SysTick_Handler

/* Startup helpers (cortexm_startup.c) */
void cortexm_init_memory(void);   /* copy .data, zero .bss, run constructors */
void cortexm_enable_faults(void); /* separate MemManage/BusFault/UsageFault handlers */

#endif
