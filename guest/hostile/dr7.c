/*
 * Hostile guest: it programs the debug registers itself (a breakpoint on code it
 * never runs), as a kernel debugger would. Under traps the rig's breakpoints take
 * the registers; the rig must say so and the guest must still pass.
 */
#include "guest.h"

__attribute__((noinline)) void never_called(void) { __asm__ volatile("nop"); }

int main(void)
{
    uint64_t dr7 = 0x1; /* L0: execute breakpoint at DR0 */
    __asm__ volatile("mov %0, %%dr0" ::"r"((uint64_t)(uintptr_t)never_called));
    __asm__ volatile("mov %0, %%dr7" ::"r"(dr7));
    uint64_t back;
    __asm__ volatile("mov %%dr7, %0" : "=r"(back));
    GUEST_ASSERT(back & 1);
    console_puts("hostile-dr7: DR0/DR7 programmed by the guest\n");
    return 0;
}
