/*
 * The guest `cr3rig doctor` probes the host with: one function for each kind of
 * breakpoint the rig may set (the doctor arms them by symbol), then a pass. Each
 * probe run stops at its breakpoint; a plain run passes.
 */
#include "guest.h"

__attribute__((noinline)) void probe_hw_breakpoint(void) { __asm__ volatile("nop; nop; nop" ::: "memory"); }
__attribute__((noinline)) void probe_sw_breakpoint(void) { __asm__ volatile("nop; nop; nop" ::: "memory"); }

int main(void)
{
    probe_hw_breakpoint();
    probe_sw_breakpoint();
    return 0;
}
