/*
 * Switches CR3 legitimately many times: between the boot page tables and a copy
 * of them, with a TLB flush (read + write back of the same value) on each side.
 * No write ever puts back a stale value, so the rig's detectors must stay quiet.
 * Built twice: with out-of-line accessors (one read and one write site, which fit
 * in the debug registers) and, with CR3_SWITCH_INLINE, inlined at every use
 * (six sites, more than the debug registers hold). It ends with the other TLB
 * flushes the rig records: invlpg and a CR4.PGE toggle.
 * Also built as the multiboot image mb-cr3-switch, the same code that QEMU -kernel
 * boots, for the benchmark against gdb breakpoints through QEMU's gdb stub.
 */
#ifdef CR3RIG_MULTIBOOT
#include "mb.h"
#else
#include "guest.h"
#endif

#define SWITCHES 200

static uint64_t copy_pml4[512] __attribute__((aligned(4096)));

#ifdef CR3_SWITCH_INLINE
#define ACCESSOR static inline __attribute__((always_inline))
#else
#define ACCESSOR static __attribute__((noinline))
#endif

ACCESSOR uint64_t read_cr3(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

ACCESSOR void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }

static uint64_t read_cr4(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

ACCESSOR void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

#define CR4_PGE (1ull << 7)

static int switch_cr3_many_times(void)
{
    uint64_t boot = read_cr3();
    const uint64_t *boot_pml4 = (const uint64_t *)boot;
    for (int i = 0; i < 512; i++)
        copy_pml4[i] = boot_pml4[i];
    uint64_t roots[2] = {boot, (uint64_t)copy_pml4};
    for (int i = 0; i < SWITCHES; i++) {
        write_cr3(roots[i & 1]);
        write_cr3(read_cr3()); /* flush */
        GUEST_ASSERT(read_cr3() == roots[i & 1]);
    }
    write_cr3(boot);
    /* The other ways to flush: one page, and all global pages by toggling CR4.PGE. */
    __asm__ volatile("invlpg (%0)" ::"r"(copy_pml4) : "memory");
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 ^ CR4_PGE);
    write_cr4(cr4);
    console_puts("cr3-switch: done\n");
    return 0;
}

#ifdef CR3RIG_MULTIBOOT
int main(int argc, char **argv) /* the multiboot library's main: this test takes no arguments */
{
    (void)argc;
    (void)argv;
    return switch_cr3_many_times();
}
#else
int main(void) { return switch_cr3_many_times(); }
#endif
