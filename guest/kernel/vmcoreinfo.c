/*
 * Structure offsets exported as absolute ELF symbols, as Linux exports them to
 * crash tools in VMCOREINFO: with these and the symbol `current`, a debugger
 * (or the rig's semantic CR3 check) can find current->active_mm->pgd without
 * DWARF. The kernel itself never reads them.
 */
#include "kernel.h"

#define VMCOREINFO_OFFSET(name, type, member) \
    __asm__(".globl vmcoreinfo_" #name "\n.set vmcoreinfo_" #name ", %c0" ::"i"(offsetof(type, member)))

void vmcoreinfo_offsets(void);
void vmcoreinfo_offsets(void)
{
    VMCOREINFO_OFFSET(task_pid, struct task_struct, pid);
    VMCOREINFO_OFFSET(task_name, struct task_struct, name);
    VMCOREINFO_OFFSET(task_mm, struct task_struct, mm);
    VMCOREINFO_OFFSET(task_active_mm, struct task_struct, active_mm);
    VMCOREINFO_OFFSET(mm_pgd, struct mm_struct, pgd);
}
