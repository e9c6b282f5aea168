/*
 * lazytlb: a tiny preemptible x86-64 kernel with just enough of Linux 3.2's
 * memory-management and scheduling mechanisms for the CR3 read+write race of
 * "x86/mm: disable preemption during CR3 read+write" to arise on its own:
 * tasks with mm and active_mm, lazy TLB borrowing, switch_mm skipped for the
 * same mm, exit_mm -> mmput -> exit_mmap -> TLB flush by CR3 read + write, a
 * handle_mm_fault that checks the task's own mm, RT priorities, RT throttling,
 * and a LAPIC-timer-driven preemptive scheduler.
 *
 * Variants (compile-time): LAZYTLB_FIXED wraps the flush in preempt_disable()/
 * preempt_enable() as the patch does; LAZYTLB_SELFPREEMPT runs the timer tick
 * itself (timer_tick_from_kernel()) between the read and the write;
 * LAZYTLB_SCENARIO_SEGV runs another scenario (main.c). LAZYTLB_INLINE builds
 * it as a Linux 3.2 kernel without CONFIG_PARAVIRT: native_read_cr3()/
 * native_write_cr3(), __native_flush_tlb(), flush_tlb_mm()/flush_tlb_range() and
 * switch_mm() are inlined at every caller (a CR3 instruction at each of them),
 * and the user tasks get the mapping system calls of mmap.c (mmap, munmap,
 * mprotect, mremap, madvise), which flush as 3.2's do. None of them knows of a
 * test rig; the kernel reports through its console, its exit code and trace()
 * tracepoints.
 */
#ifndef LAZYTLB_KERNEL_H
#define LAZYTLB_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

/* ---- layout ---- */
#define PAGE_SIZE 4096ul
#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS (0x18 | 3)
#define USER_CS (0x20 | 3)
#define TSS_SEL 0x28

#define TIMER_VECTOR 0x30
#define SPURIOUS_VECTOR 0xff

/* User space: PML4 slot 1, the same virtual addresses in every process. */
#define USER_BASE 0x0000008000000000ull
#define USER_CODE (USER_BASE + 0x0000)
#define USER_ARGS (USER_BASE + 0x10000)      /* first data page: the program's arguments */
#define USER_DATA_PAGES 4
#define USER_STACK (USER_BASE + 0x20000)     /* one page; rsp starts at its top */
#define USER_UNMAPPED (USER_BASE + 0x100000) /* never mapped: touching it kills the task */

/* Page-table entry bits. */
#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

/* ---- timing ---- */
#define TICK_NS 2000000u       /* LAPIC timer period: 2 ms */
#define NORMAL_SLICE_TICKS 3   /* round-robin slice of normal tasks */
#define RT_PERIOD_TICKS 10     /* RT throttling, as sched_rt_period_us ... */
#define RT_RUNTIME_TICKS 8     /* ... and sched_rt_runtime_us, in ticks */
#define FAULT_STORM_MIN 8      /* consecutive faults at one (rip, addr) that count as a storm */

/*
 * ---- system calls: `ud2` with rax = number, rdi/rsi = arguments, result in rax ----
 * On the nested kvm_pvm hosts this project runs on, neither SYSCALL nor INT n from
 * user mode reaches the guest kernel (SYSCALL runs LSTAR at CPL 3, INT n raises
 * #UD), while exceptions do; so the kernel's system-call gate is the #UD of `ud2`
 * at a user text address. It works the same on VT-x and SVM hosts.
 */
#define SYS_EXIT 0
#define SYS_YIELD 1
#define SYS_WRITE 2
#define SYS_WAIT 3 /* wait up to rdi ticks for a child to exit: its pid, or 0 */
/* LAZYTLB_INLINE only (mmap.c), rdx = third argument; -1 on any error. Addresses are
 * page-aligned, inside [USER_MMAP_BASE, USER_MMAP_END); len is a multiple of PAGE_SIZE. */
#define SYS_MMAP 4     /* mmap(addr, len, prot) with MAP_FIXED|MAP_ANONYMOUS: addr */
#define SYS_MUNMAP 5   /* munmap(addr, len): 0 */
#define SYS_MPROTECT 6 /* mprotect(addr, len, prot), prot PROT_READ or PROT_READ|PROT_WRITE: 0 */
#define SYS_MREMAP 7   /* mremap(old, len, new) with MREMAP_MAYMOVE|MREMAP_FIXED, same len: new */
#define SYS_MADVISE 8  /* madvise(addr, len, MADV_DONTNEED): 0 */
#define PROT_READ 1
#define PROT_WRITE 2
#define MADV_DONTNEED 4
#define USER_MMAP_BASE (USER_BASE + 0x40000) /* the window the mapping system calls may use */
#define USER_MMAP_END (USER_BASE + 0x80000)

/* ---- interrupt frame, as pushed by entry.S ---- */
struct pt_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};
#define RFLAGS_IF 0x200ull

static inline bool user_mode(const struct pt_regs *regs) { return (regs->cs & 3) == 3; }

/* ---- CPU helpers ---- */
static inline uint64_t read_cr2(void)
{
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline uint64_t local_irq_save(void)
{
    uint64_t flags;
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
    return flags;
}
static inline void local_irq_restore(uint64_t flags)
{
    if (flags & RFLAGS_IF)
        __asm__ volatile("sti" ::: "memory");
}

/* ---- memory ---- */
struct mm_struct {
    uint64_t *pgd;    /* top-level page table (identity mapped: virtual == physical) */
    int mm_users;     /* tasks using it as their own mm */
    int mm_count;     /* references to the struct: mm_users as one, plus lazy borrowers */
    int id;
    unsigned pages;   /* pages owned: page tables and user frames */
    unsigned pte_end; /* one past the highest leaf-table slot ever mapped, like a VMA's end:
                       * exit_mmap() walks only up to here (CPL0 code is slow when emulated) */
};

extern struct mm_struct init_mm;
extern uint64_t loaded_cr3; /* what this CPU last wrote to CR3 (cpu_tlbstate, in spirit) */

/*
 * The CR3 accessors, as asm/system.h has them. With CONFIG_PARAVIRT, Linux calls them
 * through pv_mmu_ops, out of line: the default variants' read_cr3()/write_cr3() in
 * mm.c, one instruction site for each direction. Without it (LAZYTLB_INLINE),
 * read_cr3()/write_cr3() are macros for these, inlined at every caller.
 */
static inline __attribute__((always_inline)) uint64_t native_read_cr3(void)
{
    uint64_t val;
    __asm__ volatile("mov %%cr3, %0" : "=r"(val));
    return val;
}

static inline __attribute__((always_inline)) void native_write_cr3(uint64_t val)
{
    __asm__ volatile("mov %0, %%cr3" ::"r"(val) : "memory");
    loaded_cr3 = val; /* this kernel's own bookkeeping, not Linux's */
}

#ifdef LAZYTLB_INLINE
#define read_cr3() native_read_cr3()
#define write_cr3(x) native_write_cr3(x)
#else
void write_cr3(uint64_t value);
uint64_t read_cr3(void);
#endif

void page_alloc_init(void);
void *get_zeroed_page(void); /* its address, like Linux's (not a struct page *) */
void free_page(void *page);
unsigned nr_free_pages(void);

void kernel_page_tables_init(void);
struct mm_struct *mm_create(const void *code, size_t code_len);
void mmgrab(struct mm_struct *mm);
void mmdrop(struct mm_struct *mm);
void mmput(struct mm_struct *mm);
int handle_mm_fault(struct mm_struct *mm, uint64_t address, uint64_t error_code);

/* ---- tasks and scheduling ---- */
/* TASK_UNUSED is a free slot of tasks[]; TASK_ZOMBIE and TASK_REAPED stand for what
 * Linux 3.2 keeps in ->exit_state, EXIT_ZOMBIE and EXIT_DEAD. */
enum task_state { TASK_UNUSED, TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_ZOMBIE, TASK_REAPED };
enum sched_policy { SCHED_NORMAL, SCHED_FIFO };

/* Per-task page-fault accounting, task_struct.fault_stats: this kernel's own (Linux
 * keeps only min_flt/maj_flt), for the storms a stale CR3 causes. */
struct fault_stats {
    uint64_t faults;        /* every #PF taken by the task */
    uint64_t spurious;      /* PTE present with the right rights: retried */
    uint64_t run;           /* consecutive faults at the current (rip, addr) */
    uint64_t run_rip, run_addr, run_start_tick;
    uint64_t storms;        /* runs of at least FAULT_STORM_MIN */
    uint64_t storm_faults;  /* faults inside those runs */
    uint64_t storm_ticks;   /* time lost in them */
    uint64_t storm_rip, storm_addr; /* where the longest storm was */
    uint64_t longest_storm;
};

struct task_struct {
    uint64_t rsp; /* saved kernel stack pointer; switch_to relies on offset 0 */
    int pid;
    const char *name;
    enum task_state state;
    enum sched_policy policy;
    int rt_priority;
    struct mm_struct *mm;
    struct mm_struct *active_mm;
    struct task_struct *parent;
    int exit_code;
    bool killed;
    uint64_t killed_addr;
    bool waiting_child;
    uint64_t wake_at;       /* TASK_INTERRUPTIBLE: tick to wake at, 0 = no timeout */
    int64_t rq_key;         /* runqueue order inside a class: smaller runs first */
    int slice;
    bool slice_expired;
    uint8_t *kstack_top;
    /* accounting */
    uint64_t runtime_ticks;
    uint64_t woken_tick;    /* when it last became runnable */
    uint64_t max_latency;   /* longest wait from wake-up to running, in ticks */
    uint64_t switches;
    struct fault_stats fault_stats;
};

#define MAX_TASKS 8
extern struct task_struct tasks[MAX_TASKS];
extern struct task_struct *current;
extern volatile uint64_t jiffies;
extern int preempt_count;
extern bool need_resched;

void sched_init(void);
struct task_struct *task_create(const char *name, enum sched_policy policy, int rt_priority, const void *code,
                                size_t code_len, const uint64_t *args, size_t nargs, struct task_struct *parent);
void schedule(void);
void preempt_disable(void);
void preempt_enable(void);
void preempt_schedule_irq(void);
void scheduler_tick(void);
void wake_up_process(struct task_struct *t);
void sleep_ticks(uint64_t ticks, bool for_child);
bool rt_throttled(void);
uint64_t rt_throttle_count(void);

/* ---- exit, syscalls, faults ---- */
__attribute__((noreturn)) void do_exit(int code);
void do_syscall(struct pt_regs *regs);
void do_page_fault(struct pt_regs *regs);
int live_user_tasks(void);
void note_progress(struct task_struct *t);
#ifdef LAZYTLB_INLINE
uint64_t sys_mmap(uint64_t addr, uint64_t len, uint64_t prot);
uint64_t sys_munmap(uint64_t addr, uint64_t len);
uint64_t sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot);
uint64_t sys_mremap(uint64_t old_addr, uint64_t len, uint64_t new_addr);
uint64_t sys_madvise(uint64_t addr, uint64_t len, uint64_t advice);
extern uint64_t mm_syscalls; /* mapping system calls that succeeded */
#endif

/* ---- platform ---- */
void arch_init(void);  /* GDT, TSS, IDT */
void set_kernel_stack(uint8_t *top);
void apic_timer_init(void);
void ack_APIC_irq(void);
void timer_tick_from_kernel(void);
__attribute__((noreturn)) void panic(const char *why, uint64_t value);
void print_hex(uint64_t v);
void print_kv(const char *key, uint64_t value);

/* entry.S */
struct task_struct *switch_to(struct task_struct *prev, struct task_struct *next);
void ret_from_fork(void);

/* ---- counters of the guest's own consistency checks ---- */
struct kstats {
    uint64_t cr3_mismatch_at_switch; /* switch_mm skipped while CR3 was not next's pgd */
    uint64_t tlb_flushes;
    uint64_t context_switches;
    uint64_t pages_freed_by_exit; /* page-table and user pages freed by exit_mmap + mmdrop */
    uint64_t pgds_freed;
    uint64_t rt_throttled_ticks;
};
extern struct kstats kstats;
/* The kernel's own count of stale CR3 writes, where the rig reads it (cr3rig/abi.h). */
extern struct cr3rig_accounting cr3rig_accounting;

/* Tracepoints on the rig port (see CR3RIG_TP_* in cr3rig/abi.h). */
#define trace(ev, a, b, c, d) rig_trace((ev), (a), (b), (c), (d))

#include "tlbflush.h"
/* switch_mm(): static inline in Linux's asm/mmu_context.h, out of line (mm.c) in the
 * paravirt-like variants, whose one CR3 write site is write_cr3(). */
#ifdef LAZYTLB_INLINE
#define MMU_CONTEXT_INLINE static inline __attribute__((always_inline))
#include "mmu_context.h"
#else
void switch_mm(struct mm_struct *prev, struct mm_struct *next);
#endif

#endif
