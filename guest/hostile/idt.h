/* A minimal 64-bit IDT for the hostile guests: interrupt gates on the rig's flat code selector. */
#ifndef HOSTILE_IDT_H
#define HOSTILE_IDT_H

#include "guest.h"

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));

static inline void idt_set(struct idt_gate *idt, int vector, void (*handler)(void))
{
    uint64_t a = (uint64_t)(uintptr_t)handler;
    idt[vector] = (struct idt_gate){(uint16_t)a, CR3RIG_GDT_CODE64, 0, 0x8e, (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0};
}

static inline void idt_load(struct idt_gate *idt)
{
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } idtr = {256 * sizeof(struct idt_gate) - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" ::"m"(idtr) : "memory");
}

/* Handlers, in handlers.S. */
void pf_skip_a(void);  /* counts in faults_a, resumes at fault_resume */
void pf_skip_b(void);  /* counts in faults_b, resumes at fault_resume */
void pf_retry(void);   /* returns to the faulting instruction: it faults again, forever */
void storm_isr(void);  /* counts in storm_count, EOI, and sends itself the next self-IPI */
extern volatile uint64_t faults_a, faults_b, storm_count;

#define STORM_VECTOR 0x40
#define MSR_APIC_BASE 0x1bu
#define MSR_X2APIC_SELF_IPI 0x83fu
#define UNMAPPED_ADDRESS 0x4000000000ull /* 256 GiB: beyond the rig's 4 GiB identity map */

/* Reads UNMAPPED_ADDRESS once; a pf_skip handler resumes right after it. */
void fault_once(void);

#endif
