/*
 * The TLB flushes of Linux 3.2's asm/tlbflush.h on a uniprocessor, included by
 * kernel.h. They flush by writing back to CR3 what they read. Under LAZYTLB_INLINE
 * each caller carries its own read and write (always_inline: GCC must not outline
 * them, or the sites would collapse into one as with paravirt ops); the other
 * variants use them only in exit_mmap() and call the out-of-line read_cr3() and
 * write_cr3().
 */
#ifdef LAZYTLB_INLINE
#define TLBFLUSH_INLINE static inline __attribute__((always_inline))
#else
#define TLBFLUSH_INLINE static inline
#endif

/* The TLB flush, as 3.2's __native_flush_tlb(): write back to CR3 what it reads.
 * The patch wraps the read and the write in preempt_disable()/preempt_enable(). */
TLBFLUSH_INLINE void __native_flush_tlb(void)
{
#ifdef LAZYTLB_FIXED
    preempt_disable();
#endif
    uint64_t cr3 = read_cr3();
#ifdef LAZYTLB_SELFPREEMPT
    /* A timer tick lands right here, raised by the kernel itself. (Not with
     * `int $TIMER_VECTOR`: software interrupts at CPL0 fail on nested hosts.) */
    timer_tick_from_kernel();
#endif
    /* The guest's own consistency check: the value written must be the pgd of the mm
     * this task runs on at that moment. Counting it changes nothing; it tells what
     * happened. The write and the look at active_mm are one step with interrupts off:
     * a tick right after the write would otherwise let a lazy switch change
     * active_mm before the look, and a correct write would be counted stale. The
     * window the patch closes, between the read and the write, stays open. */
    uint64_t flags = local_irq_save();
    write_cr3(cr3);
    uint64_t expected = (uint64_t)current->active_mm->pgd;
    if (cr3 != expected)
        cr3rig_accounting.stale_cr3_writes++;
    local_irq_restore(flags);
    kstats.tlb_flushes++;
    trace(CR3RIG_TP_CR3_WRITE, cr3, (uint64_t)current->pid, expected, 0);
#ifdef LAZYTLB_FIXED
    preempt_enable();
#endif
}

#define __flush_tlb() __native_flush_tlb()

/* flush_tlb_mm() on a uniprocessor: only the mm this CPU has loaded needs a flush. */
TLBFLUSH_INLINE void flush_tlb_mm(struct mm_struct *mm)
{
    if (mm == current->active_mm)
        __flush_tlb();
}

/* flush_tlb_range(): 3.2 takes the VMA, which this kernel does not have, and flushes
 * the whole TLB on a uniprocessor whatever the range. */
TLBFLUSH_INLINE void flush_tlb_range(struct mm_struct *mm, uint64_t start, uint64_t end)
{
    (void)start;
    (void)end;
    if (mm == current->active_mm)
        __flush_tlb();
}

#ifdef LAZYTLB_INLINE
#define X86_CR4_PGE (1ull << 7)

static inline __attribute__((always_inline)) uint64_t native_read_cr4(void)
{
    uint64_t val;
    __asm__ volatile("mov %%cr4, %0" : "=r"(val));
    return val;
}

static inline __attribute__((always_inline)) void native_write_cr4(uint64_t val)
{
    __asm__ volatile("mov %0, %%cr4" ::"r"(val) : "memory");
}

/* __flush_tlb_all(): global pages too. 3.2 toggles CR4.PGE when the CPU has PGE
 * (__native_flush_tlb_global(), interrupts off) and flushes by CR3 otherwise; this
 * kernel never turns PGE on, so it looks at CR4 rather than at CPUID, and takes the
 * CR3 branch. Both branches are inlined at each caller, as in 3.2. */
TLBFLUSH_INLINE void __flush_tlb_all(void)
{
    uint64_t cr4 = native_read_cr4();
    if (cr4 & X86_CR4_PGE) {
        uint64_t flags = local_irq_save();
        native_write_cr4(cr4 & ~X86_CR4_PGE);
        native_write_cr4(cr4);
        local_irq_restore(flags);
    } else {
        __flush_tlb();
    }
}
#endif

/* load_cr3() of asm/processor.h: pgds are identity mapped, __pa() is the address. */
static inline __attribute__((always_inline)) void load_cr3(uint64_t *pgdir) { write_cr3((uint64_t)pgdir); }
