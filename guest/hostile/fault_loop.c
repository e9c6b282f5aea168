/*
 * Hostile guest: an endless page-fault loop that is not the seed's livelock. The
 * #PF handler returns without fixing anything, so the same load faults forever.
 * Without traps the run ends at its deadline; with them the rig reports a fault
 * livelock, never a stale CR3 write.
 */
#include "idt.h"

static struct idt_gate idt[256] __attribute__((aligned(16)));

int main(void)
{
    idt_set(idt, 14, pf_retry);
    idt_load(idt);
    console_puts("hostile-fault-loop: faulting forever\n");
    fault_once();
    return 0; /* never reached */
}
