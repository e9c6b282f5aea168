/*
 * Hostile guest: user code (CPL 3) that reads and writes CR3, which the CPU refuses
 * with #GP(0) whatever the value. The rig's hardware breakpoints fire at any CPL and
 * it performs trapped CR3 accesses itself, so it must refuse them the same way: the
 * guest's handler must see #GP(0) at each mov, raised in ring 3.
 */
#include "idt.h"

void enter_user(void (*entry)(void), void *user_rsp);
void user_read_cr3(void);
void user_write_cr3(void);
void gp_from_user(void);
extern char user_write_cr3_insn[];
extern volatile uint64_t gp_count, gp_error, gp_rip, gp_cs;

#define GP_VECTOR 13
#define USER_CS 0x2bu
#define TSS_SELECTOR 0x30u
#define PTE_USER 4u
#define PAGE_2M (2ull << 20)

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iopb;
} __attribute__((packed));

static struct tss tss;
static uint64_t gdt[8] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static uint8_t ring0_stack[4096] __attribute__((aligned(16)));

/* The boot GDT's kernel segments, user data and code (DPL 3), and a TSS for rsp0. */
static void load_gdt_and_tss(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof tss - 1;
    tss.rsp[0] = (uint64_t)(uintptr_t)(ring0_stack + sizeof ring0_stack);
    tss.iopb = sizeof tss;
    gdt[1] = 0x00af9a000000ffffull; /* 0x08: kernel code, as at entry */
    gdt[2] = 0x00cf92000000ffffull; /* 0x10: kernel data */
    gdt[4] = 0x00cff2000000ffffull; /* 0x20: user data */
    gdt[5] = 0x00affa000000ffffull; /* 0x28: user code */
    gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | ((base >> 24 & 0xff) << 56);
    gdt[7] = base >> 32;
    struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } gdtr = {sizeof gdt - 1, (uint64_t)(uintptr_t)gdt};
    __asm__ volatile("lgdt %0" ::"m"(gdtr));
    __asm__ volatile("ltr %w0" ::"r"(TSS_SELECTOR));
}

/* Opens the first 2 MiB (this guest's code, data and stacks) to ring 3. */
static void open_low_memory_to_user(void)
{
    GUEST_ASSERT((uintptr_t)(user_stack + sizeof user_stack) < PAGE_2M);
    uint64_t *pml4 = (uint64_t *)(uintptr_t)CR3RIG_BOOT_PML4_GPA;
    uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
    uint64_t *pd = (uint64_t *)(uintptr_t)(pdpt[0] & ~0xfffull);
    pml4[0] |= PTE_USER;
    pdpt[0] |= PTE_USER;
    pd[0] |= PTE_USER;
    __asm__ volatile("invlpg (%0)" ::"r"(user_stack) : "memory"); /* one 2 MiB page, and the paging caches */
}

static void expect_gp_in_user(void (*entry)(void), const char *at, const char *what)
{
    uint64_t count = gp_count;
    enter_user(entry, user_stack + sizeof user_stack);
    GUEST_ASSERT(gp_count == count + 1);
    GUEST_ASSERT(gp_rip == (uint64_t)(uintptr_t)at);
    GUEST_ASSERT(gp_cs == USER_CS);
    GUEST_ASSERT(gp_error == 0);
    console_puts(what);
}

int main(void)
{
    load_gdt_and_tss();
    idt_set(idt, GP_VECTOR, gp_from_user);
    idt_load(idt);
    open_low_memory_to_user();
    expect_gp_in_user(user_read_cr3, (const char *)user_read_cr3, "hostile-cr3-user: CR3 read at CPL 3: #GP(0)\n");
    expect_gp_in_user(user_write_cr3, user_write_cr3_insn, "hostile-cr3-user: CR3 write at CPL 3: #GP(0)\n");
    return 0;
}
