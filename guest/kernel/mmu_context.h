/*
 * switch_mm() of asm/mmu_context.h, included by kernel.h (LAZYTLB_INLINE: inline at
 * every caller, as in Linux) or by mm.c (the other variants: out of line), with
 * MMU_CONTEXT_INLINE saying which. The CR3 load happens only when the mm changes.
 */
MMU_CONTEXT_INLINE void switch_mm(struct mm_struct *prev, struct mm_struct *next)
{
    if (prev != next) {
        trace(CR3RIG_TP_SWITCH_MM, (uint64_t)prev->pgd, (uint64_t)next->pgd, (uint64_t)current->pid, 0);
        load_cr3(next->pgd);
    }
}
