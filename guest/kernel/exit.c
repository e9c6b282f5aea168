/* Task exit (exit_mm -> mmput, exit_notify), the system calls, and page faults. */
#include "kernel.h"

struct kstats kstats;
struct cr3rig_accounting cr3rig_accounting = {CR3RIG_ACCOUNTING_MAGIC, 0};

int live_user_tasks(void)
{
    int n = 0;
    for (int i = 1; i < MAX_TASKS; i++)
        n += tasks[i].state == TASK_RUNNING || tasks[i].state == TASK_INTERRUPTIBLE;
    return n;
}

/* exit_mm() of Linux 3.2: keep a lazy reference, drop the task's own mm. */
static void exit_mm(struct task_struct *tsk)
{
    struct mm_struct *mm = tsk->mm;
    if (!mm)
        return;
    trace(CR3RIG_TP_EXIT_MM, (uint64_t)tsk->pid, (uint64_t)mm->pgd, 0, 0);
    mmgrab(mm);
    tsk->mm = NULL;
    /* enter_lazy_tlb(): nothing to do on this CPU model */
    mmput(mm);
}

static void close_fault_storm(struct task_struct *t);

static void exit_notify(struct task_struct *tsk)
{
    tsk->state = TASK_ZOMBIE;
    struct task_struct *parent = tsk->parent;
    if (!parent) {
        tsk->state = TASK_REAPED; /* children of the kernel are reaped at once */
        return;
    }
    if (parent->state == TASK_INTERRUPTIBLE && parent->waiting_child)
        wake_up_process(parent);
}

void do_exit(int code)
{
    struct task_struct *tsk = current;
    close_fault_storm(tsk);
    tsk->exit_code = code;
    trace(CR3RIG_TP_TASK_EXIT, (uint64_t)tsk->pid, (uint64_t)code, tsk->killed, tsk->fault_stats.faults);
    exit_mm(tsk);
    uint64_t flags = local_irq_save();
    exit_notify(tsk);
    schedule();
    (void)flags;
    panic("a dead task ran again", (uint64_t)tsk->pid);
}

/* A zombie child of the current task, reaped, or NULL. */
static struct task_struct *reap_child(void)
{
    for (int i = 1; i < MAX_TASKS; i++) {
        if (tasks[i].parent == current && tasks[i].state == TASK_ZOMBIE) {
            tasks[i].state = TASK_REAPED;
            return &tasks[i];
        }
    }
    return NULL;
}

static uint64_t sys_wait(uint64_t timeout_ticks)
{
    struct task_struct *child = reap_child();
    if (!child) {
        sleep_ticks(timeout_ticks, true);
        child = reap_child();
    }
    return child ? (uint64_t)child->pid : 0;
}

static uint64_t sys_write(uint64_t buf, uint64_t len)
{
    if (buf < USER_BASE || len > PAGE_SIZE || buf + len > USER_BASE + 0x200000)
        return (uint64_t)-1;
    for (uint64_t i = 0; i < len; i++)
        console_putc(((const char *)buf)[i]);
    return len;
}

void do_syscall(struct pt_regs *regs)
{
    __asm__ volatile("sti"); /* system calls run with interrupts on, preemptible, as in Linux */
    note_progress(current);
    switch (regs->rax) {
    case SYS_EXIT: do_exit((int)regs->rdi);
    case SYS_YIELD:
        current->slice_expired = true;
        schedule();
        regs->rax = 0;
        break;
    case SYS_WRITE: regs->rax = sys_write(regs->rdi, regs->rsi); break;
    case SYS_WAIT: regs->rax = sys_wait(regs->rdi); break;
#ifdef LAZYTLB_INLINE
    case SYS_MMAP: regs->rax = sys_mmap(regs->rdi, regs->rsi, regs->rdx); break;
    case SYS_MUNMAP: regs->rax = sys_munmap(regs->rdi, regs->rsi); break;
    case SYS_MPROTECT: regs->rax = sys_mprotect(regs->rdi, regs->rsi, regs->rdx); break;
    case SYS_MREMAP: regs->rax = sys_mremap(regs->rdi, regs->rsi, regs->rdx); break;
    case SYS_MADVISE: regs->rax = sys_madvise(regs->rdi, regs->rsi, regs->rdx); break;
#endif
    default: regs->rax = (uint64_t)-1; break;
    }
}

/* ---- page faults and the guest's own storm accounting ---- */
static void close_fault_storm(struct task_struct *t)
{
    struct fault_stats *stats = &t->fault_stats;
    if (stats->run >= FAULT_STORM_MIN) {
        uint64_t ticks = jiffies - stats->run_start_tick;
        stats->storms++;
        stats->storm_faults += stats->run;
        stats->storm_ticks += ticks;
        if (stats->run > stats->longest_storm) {
            stats->longest_storm = stats->run;
            stats->storm_rip = stats->run_rip;
            stats->storm_addr = stats->run_addr;
        }
        trace(CR3RIG_TP_FAULT_STORM, (uint64_t)t->pid, stats->run, ticks, stats->run_addr);
    }
    stats->run = 0;
}

/* The task got somewhere (a syscall, a different fault): a fault run ends. */
void note_progress(struct task_struct *t) { close_fault_storm(t); }

void do_page_fault(struct pt_regs *regs)
{
    uint64_t address = read_cr2();
    if (!user_mode(regs)) {
        console_puts("\nlazytlb: kernel page fault at ");
        print_hex(address);
        console_puts(" rip ");
        print_hex(regs->rip);
#ifdef LAZYTLB_INLINE
        /* dump_pagetable() of 3.2's fault.c: the pgd entry, from the CR3 in use */
        console_puts(" PGD ");
        print_hex(((const uint64_t *)(read_cr3() & PTE_ADDR))[(address >> 39) & 511]);
#endif
        panic("kernel #PF", regs->error_code);
    }
    struct task_struct *t = current;
    struct fault_stats *stats = &t->fault_stats;
    stats->faults++;
    if (stats->run && (stats->run_rip != regs->rip || stats->run_addr != address))
        close_fault_storm(t);
    if (stats->run++ == 0) {
        stats->run_rip = regs->rip;
        stats->run_addr = address;
        stats->run_start_tick = jiffies;
    }
    /* Interrupts on while handling the fault, as Linux's do_page_fault does. */
    __asm__ volatile("sti");
    if (handle_mm_fault(t->mm, address, regs->error_code) == 0) {
        stats->spurious++;
        return; /* retry the access */
    }
    t->killed = true;
    t->killed_addr = address;
    do_exit(139); /* SIGSEGV */
}
