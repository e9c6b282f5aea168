/*
 * Hostile guest: it writes CR3 values with reserved bits set, which the CPU refuses
 * with #GP(0), and handles the #GP. The rig, which performs trapped CR3 writes for
 * the guest, must refuse them the same way: #GP(0) at the mov, CR3 unchanged, RF set
 * in the RFLAGS image. Then a valid write must still take effect.
 */
#include "idt.h"

void cr3_load(uint64_t value);
uint64_t cr3_value(void);
void gp_record(void);
extern char cr3_load_insn[];
extern volatile uint64_t gp_count, gp_error, gp_rip, gp_rflags;

#define GP_VECTOR 13
#define CR4_PCIDE (1ull << 17)
#define RFLAGS_RF (1ull << 16)

static struct idt_gate idt[256] __attribute__((aligned(16)));

static uint64_t read_cr4(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static void expect_gp(uint64_t value, const char *what)
{
    uint64_t before = cr3_value();
    uint64_t count = gp_count;
    cr3_load(value);
    GUEST_ASSERT(gp_count == count + 1);
    GUEST_ASSERT(gp_rip == (uint64_t)(uintptr_t)cr3_load_insn);
    GUEST_ASSERT(gp_error == 0);
    GUEST_ASSERT(gp_rflags & RFLAGS_RF);
    GUEST_ASSERT(cr3_value() == before);
    console_puts(what);
}

int main(void)
{
    idt_set(idt, GP_VECTOR, gp_record);
    idt_load(idt);
    GUEST_ASSERT(!(read_cr4() & CR4_PCIDE));
    uint64_t root = cr3_value();
    /* Without PCIDE bit 63 is no no-flush hint but a reserved bit like those above it. */
    expect_gp(root | (1ull << 63), "hostile-cr3-gp: bit 63 without PCIDE: #GP(0)\n");
    /* Bit 59 lies above any MAXPHYADDR (at most 52) and is none of LAM's (61, 62). */
    expect_gp(root | (1ull << 59), "hostile-cr3-gp: bit 59: #GP(0)\n");
    cr3_load(root | 0x18); /* PWT and PCD: valid, and seen in CR3 */
    GUEST_ASSERT(gp_count == 2);
    GUEST_ASSERT(cr3_value() == (root | 0x18));
    cr3_load(root);
    console_puts("hostile-cr3-gp: a valid write still loads CR3\n");
    return 0;
}
