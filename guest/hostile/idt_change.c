/*
 * Hostile guest: it moves its IDT at run time. One fault is handled through table
 * A, then the guest loads table B (another #PF handler at another address) and
 * faults again. Under traps the rig must follow the change and see both faults.
 */
#include "idt.h"

static struct idt_gate idt_a[256] __attribute__((aligned(16)));
static struct idt_gate idt_b[256] __attribute__((aligned(16)));

int main(void)
{
    idt_set(idt_a, 14, pf_skip_a);
    idt_load(idt_a);
    fault_once();
    console_puts("hostile-idt-change: fault through table A handled, loading table B\n");
    idt_set(idt_b, 14, pf_skip_b);
    idt_load(idt_b);
    fault_once();
    GUEST_ASSERT(faults_a == 1 && faults_b == 1);
    console_puts("hostile-idt-change: one fault through each table\n");
    return 0;
}
