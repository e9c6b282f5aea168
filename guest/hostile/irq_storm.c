/*
 * Hostile guest: an interrupt storm. Each interrupt's handler sends the next one
 * to itself (x2APIC self-IPI) before it returns, forever, and prints a '.' every
 * 1024 interrupts; the main loop exits to the host without pause, and on this
 * backend every exit delivers the next interrupt. The rig must still end the run
 * at its deadline (TIMEOUT).
 */
#include "idt.h"

static struct idt_gate idt[256] __attribute__((aligned(16)));

int main(void)
{
    idt_set(idt, STORM_VECTOR, storm_isr);
    idt_load(idt);
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11) | (1u << 10)); /* xAPIC + x2APIC on */
    wrmsr(0x80f, 0x100 | 0xff);                                          /* SVR: APIC software-enabled */
    __asm__ volatile("sti");
    console_puts("hostile-irq-storm: ");
    wrmsr(MSR_X2APIC_SELF_IPI, STORM_VECTOR);
    for (;;)
        outb(CR3RIG_BENCH_PORT, 0); /* exits, each a point where KVM delivers the next one */
}
