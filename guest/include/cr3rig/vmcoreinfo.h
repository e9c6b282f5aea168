/*
 * Structure offsets exported as absolute ELF symbols, as Linux exports them to crash
 * tools in VMCOREINFO: with these and the symbol `current`, a debugger (or the rig's
 * semantic CR3 check, --offset-prefix) can find current->active_mm->pgd without DWARF.
 * The kernel itself never reads them.
 */
#ifndef CR3RIG_VMCOREINFO_H
#define CR3RIG_VMCOREINFO_H

#include <stddef.h>

#define CR3RIG_VMCOREINFO_OFFSET(name, type, member) \
    __asm__(".globl vmcoreinfo_" #name "\n.set vmcoreinfo_" #name ", %c0" ::"i"(offsetof(type, member)))

/* Defines vmcoreinfo_offsets(), which emits the five offsets the rig reads, for a task
 * type with pid, name, mm and active_mm and an mm type with pgd. */
#define CR3RIG_VMCOREINFO_TASK_OFFSETS(task_type, mm_type)                    \
    void vmcoreinfo_offsets(void);                                            \
    void vmcoreinfo_offsets(void)                                             \
    {                                                                         \
        CR3RIG_VMCOREINFO_OFFSET(task_pid, task_type, pid);                   \
        CR3RIG_VMCOREINFO_OFFSET(task_name, task_type, name);                 \
        CR3RIG_VMCOREINFO_OFFSET(task_mm, task_type, mm);                     \
        CR3RIG_VMCOREINFO_OFFSET(task_active_mm, task_type, active_mm);       \
        CR3RIG_VMCOREINFO_OFFSET(mm_pgd, mm_type, pgd);                       \
    }

#endif
