/*
 * Benchmark guest: exactly CR3_SITES distinct CR3 instruction sites in its text, all
 * executed, CR3_ACCESSES dynamic accesses in all whatever CR3_SITES is, so the cost
 * per trapped access can be compared across site counts (bench/trap_figures.cpp).
 * CR3_SITES >= 2 (even): CR3_SITES / 2 read + write-back pairs (a TLB flush each, CR3
 * unchanged), each pair at its own address, run CR3_ACCESSES / CR3_SITES times.
 * CR3_SITES == 1: one read site run CR3_ACCESSES times (a read and its write back
 * cannot be one instruction).
 * The accesses sit between two bench-port writes, so the host times exactly them. The
 * whole loop is one asm statement: the compiler can neither unroll it (which would
 * copy the sites) nor move a site out of it.
 */
#include "guest.h"

#ifndef CR3_SITES
#error "build with -DCR3_SITES=N (1, or an even N that divides CR3_ACCESSES)"
#endif

#define CR3_ACCESSES 4096

#if CR3_SITES == 1
#define SITE_BLOCK ".rept 1\n mov %%cr3, %%rax\n .endr\n"
#define BLOCK_COPIES 1
#else
#define SITE_BLOCK ".rept %c[copies]\n mov %%cr3, %%rax\n mov %%rax, %%cr3\n .endr\n"
#define BLOCK_COPIES (CR3_SITES / 2)
_Static_assert(CR3_SITES % 2 == 0, "CR3_SITES must be 1 or even");
#endif
_Static_assert(CR3_ACCESSES % CR3_SITES == 0, "every site must run the same number of times");

#define ROUNDS (CR3_ACCESSES / CR3_SITES)

int main(void)
{
    uint64_t rounds_run = 0;
    outb(CR3RIG_BENCH_PORT, 0);
    __asm__ volatile("1:\n" SITE_BLOCK
                     "inc %[run]\n"
                     "cmp %[rounds], %[run]\n"
                     "jb 1b\n"
                     : [run] "+r"(rounds_run)
                     : [rounds] "i"(ROUNDS), [copies] "i"(BLOCK_COPIES)
                     : "rax", "memory", "cc");
    outb(CR3RIG_BENCH_PORT, 0);
    uint64_t accesses = rounds_run * CR3_SITES;
    console_puts("cr3-sites: ");
    console_put_u64(accesses);
    console_puts(" CR3 accesses at ");
    console_put_u64(CR3_SITES);
    console_puts(" sites\n");
    return accesses == CR3_ACCESSES ? 0 : 1;
}
