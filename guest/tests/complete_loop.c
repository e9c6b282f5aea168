/*
 * Benchmark guest: CR3RIG_COMPLETE_ROUNDS `xgetbv` at CPL0 between two bench-port
 * writes. On a backend that cannot emulate xgetbv (kvm_pvm), each one is an
 * emulation failure that cr3rig completes; the window between the two writes over
 * the rounds is the cost of one completion, to set against pingpong's round trip.
 * Exits 77 (SKIP) when the CPU has no XSAVE.
 */
#include "guest.h"

#define CR3RIG_COMPLETE_ROUNDS 20000
#define CPUID_1_ECX_XSAVE (1u << 26)
#define CR4_OSXSAVE (1ull << 18)

int main(void)
{
    uint32_t eax = 1, ebx, ecx = 0, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    if (!(ecx & CPUID_1_ECX_XSAVE))
        return 77;
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | CR4_OSXSAVE));
    outb(CR3RIG_BENCH_PORT, 0);
    uint32_t lo = 0, hi = 0;
    for (int i = 0; i < CR3RIG_COMPLETE_ROUNDS; i++)
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    outb(CR3RIG_BENCH_PORT, 0);
    return (lo & 1) ? 0 : 1;  /* XCR0 bit 0 (x87) is always set */
}
