/* The offsets of task_struct and mm_struct that the rig's semantic check reads. */
#include "cr3rig/vmcoreinfo.h"
#include "kernel.h"

CR3RIG_VMCOREINFO_TASK_OFFSETS(struct task_struct, struct mm_struct)
