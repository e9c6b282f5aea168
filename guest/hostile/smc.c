/*
 * Hostile guest: it rewrites its own code at a CR3 site. read_site() reads CR3
 * once; then the guest overwrites that `mov %cr3, %rax` with `xor %eax, %eax; nop`
 * and calls it again, expecting 0. A rig that still took the breakpoint there for a
 * CR3 read would put CR3 in rax and the guest would fail: it must notice the new
 * bytes and rescan.
 */
#include "guest.h"

extern uint8_t smc_site[];

__attribute__((noinline)) uint64_t read_site(void)
{
    uint64_t v;
    __asm__ volatile(".global smc_site\nsmc_site: mov %%cr3, %0\n" : "=a"(v));
    return v;
}

int main(void)
{
    GUEST_ASSERT(read_site() != 0);
    static const uint8_t xor_eax_nop[3] = {0x31, 0xc0, 0x90};
    for (int i = 0; i < 3; i++)
        ((volatile uint8_t *)smc_site)[i] = xor_eax_nop[i];
    __asm__ volatile("" ::: "memory");
    GUEST_ASSERT(read_site() == 0);
    console_puts("hostile-smc: the CR3 read was rewritten and no longer reads CR3\n");
    return 0;
}
