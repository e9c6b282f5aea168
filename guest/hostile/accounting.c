/*
 * Hostile guest: its own accounting lies. It keeps the objects the trap engine's
 * semantic check reads (`current`, a task, its mm, and the VMCOREINFO-style offsets),
 * flushes the TLB once by writing back the CR3 it read (a correct write), and claims
 * in cr3rig_accounting that one stale CR3 write happened. The rig must say that the
 * guest's count and its own findings disagree; it must not stay silent, and it must
 * not invent the stale write.
 */
#include "cr3rig/vmcoreinfo.h"
#include "guest.h"

struct mm_struct {
    uint64_t *pgd;
};

struct task_struct {
    uint64_t pid;
    const char *name;
    struct mm_struct *mm, *active_mm;
};

static struct mm_struct the_mm;
static struct task_struct the_task = {1, "liar", &the_mm, &the_mm};
struct task_struct *current = &the_task;
struct cr3rig_accounting cr3rig_accounting = {CR3RIG_ACCOUNTING_MAGIC, 0};

CR3RIG_VMCOREINFO_TASK_OFFSETS(struct task_struct, struct mm_struct)

int main(void)
{
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
    the_mm.pgd = (uint64_t *)cr3;  /* the boot page tables map memory one to one */
    __asm__ volatile("mov %0, %%cr3" ::"r"(cr3) : "memory");
    cr3rig_accounting.stale_cr3_writes = 1;  /* the lie */
    console_puts("hostile-accounting: one correct TLB flush, counted as one stale CR3 write\n");
    return 0;
}
