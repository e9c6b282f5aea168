/*
 * Hostile guest: it writes CR3 instructions into its own text at run time and runs
 * them, as Linux's alternatives turn paravirt calls into inline `mov %cr3` at boot.
 * No scan of the image can see them: the image has no CR3 instruction at all. The
 * rig must scan the code as it is written and trap every access before it runs (3
 * reads and 3 writes: more sites than debug registers). The guest checks what the
 * new code read; the rig's counts are checked by tests/kvm/test_patched_traps.cpp.
 */
#include "guest.h"

#define ROUNDS 10
#define PAIRS 3

/* 32 bytes of nops and a ret: where the new code goes. */
extern uint8_t alt_area[];
__asm__(".text\n.global alt_area\nalt_area:\n.fill 32, 1, 0x90\nret\n");

static void run_area(uint64_t *read)
{
    uint64_t rax;
    __asm__ volatile("call alt_area" : "=a"(rax) : : "memory");
    *read = rax;
}

int main(void)
{
    uint64_t cr3;
    run_area(&cr3);  /* still nops: runs, reads nothing */

    /* mov %cr3, %rax; mov %rax, %cr3 (a TLB flush), three times, then the ret that is there. */
    static const uint8_t pair[6] = {0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8};
    for (int p = 0; p < PAIRS; p++)
        for (int i = 0; i < 6; i++)
            ((volatile uint8_t *)alt_area)[p * 6 + i] = pair[i];
    __asm__ volatile("" ::: "memory");

    for (int round = 0; round < ROUNDS; round++) {
        run_area(&cr3);
        GUEST_ASSERT(cr3 != 0 && (cr3 & 0xfff) == 0);  /* the page-table root, read by the new code */
    }
    console_puts("hostile-smc-new-sites: 3 CR3 read+write pairs written at run time, run 10 times\n");
    return 0;
}
