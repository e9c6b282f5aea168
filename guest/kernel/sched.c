/*
 * The scheduler: one CPU, two classes. SCHED_FIFO tasks always win over
 * SCHED_NORMAL ones (higher rt_priority first), unless RT throttling has stopped
 * them: like sched_rt_runtime_us, RT tasks may use RT_RUNTIME_TICKS of every
 * RT_PERIOD_TICKS, so an RT task stuck in a loop cannot starve the rest forever.
 * Normal tasks share the CPU round-robin with a slice of NORMAL_SLICE_TICKS.
 * context_switch() keeps Linux 3.2's lazy-TLB rules.
 */
#include "kernel.h"

struct task_struct tasks[MAX_TASKS];
struct task_struct *current;
volatile uint64_t jiffies;
int preempt_count;
bool need_resched;

static uint8_t kernel_stacks[MAX_TASKS][8192] __attribute__((aligned(16)));
static int64_t rq_head_key, rq_tail_key;
static struct mm_struct *rq_prev_mm; /* rq->prev_mm: the lazy reference to drop after a switch */

static uint64_t rt_time;      /* RT ticks used in the current period */
static bool rt_is_throttled;
static uint64_t rt_throttles;

bool rt_throttled(void) { return rt_is_throttled; }
uint64_t rt_throttle_count(void) { return rt_throttles; }

void sched_init(void)
{
    /* The boot context becomes the idle task (pid 0): a kernel thread, mm == NULL. */
    struct task_struct *idle = &tasks[0];
    idle->pid = 0;
    idle->name = "idle";
    idle->state = TASK_RUNNING;
    idle->policy = SCHED_NORMAL;
    idle->active_mm = &init_mm;
    idle->kstack_top = kernel_stacks[0] + sizeof(kernel_stacks[0]);
    current = idle;
}

static void enqueue(struct task_struct *t, bool at_head) { t->rq_key = at_head ? --rq_head_key : ++rq_tail_key; }

/* Does `a` win the CPU over `b`? RT over normal, higher RT priority first, then queue order. */
static bool runs_before(const struct task_struct *a, const struct task_struct *b)
{
    bool a_rt = a->policy == SCHED_FIFO, b_rt = b->policy == SCHED_FIFO;
    if (a_rt != b_rt)
        return a_rt;
    if (a_rt && a->rt_priority != b->rt_priority)
        return a->rt_priority > b->rt_priority;
    return a->rq_key < b->rq_key;
}

/* While throttled, the RT class is off the CPU altogether, as a throttled rt_rq. */
static bool can_run(const struct task_struct *t)
{
    return t->state == TASK_RUNNING && !(t->policy == SCHED_FIFO && rt_is_throttled);
}

static bool preempts(const struct task_struct *t, const struct task_struct *curr)
{
    return curr->pid == 0 || (t->policy == SCHED_FIFO && !rt_is_throttled &&
                              (curr->policy != SCHED_FIFO || t->rt_priority > curr->rt_priority));
}

static struct task_struct *pick_next_task(void)
{
    struct task_struct *best = NULL;
    for (int i = 1; i < MAX_TASKS; i++) {
        struct task_struct *t = &tasks[i];
        if (can_run(t) && (!best || runs_before(t, best)))
            best = t;
    }
    return best ? best : &tasks[0];
}

struct task_struct *task_create(const char *name, enum sched_policy policy, int rt_priority, const void *code,
                                size_t code_len, const uint64_t *args, size_t nargs, struct task_struct *parent)
{
    static int next_pid = 1;
    if (next_pid >= MAX_TASKS)
        panic("too many tasks", (uint64_t)next_pid);
    struct task_struct *t = &tasks[next_pid];
    t->pid = next_pid++;
    t->name = name;
    t->policy = policy;
    t->rt_priority = rt_priority;
    t->parent = parent;
    t->mm = mm_create(code, code_len);
    t->active_mm = t->mm;
    t->slice = NORMAL_SLICE_TICKS;

    /* Arguments go to the first data page through the kernel's direct map. */
    uint64_t *pdpt = (uint64_t *)(t->mm->pgd[USER_BASE >> 39 & 511] & PTE_ADDR);
    uint64_t *pd = (uint64_t *)(pdpt[0] & PTE_ADDR);
    uint64_t *pt = (uint64_t *)(pd[0] & PTE_ADDR);
    uint64_t args_pa = pt[(USER_ARGS >> 12) & 511] & PTE_ADDR;
    for (size_t i = 0; i < nargs; i++)
        ((uint64_t *)args_pa)[i] = args[i];

    /* The kernel stack: a pt_regs that returns to user space, under a switch_to
     * frame whose return address is ret_from_fork. */
    t->kstack_top = kernel_stacks[t->pid] + sizeof(kernel_stacks[t->pid]);
    struct pt_regs *regs = (struct pt_regs *)(t->kstack_top - sizeof(struct pt_regs));
    *regs = (struct pt_regs){0};
    regs->rip = USER_CODE;
    regs->cs = USER_CS;
    regs->rflags = 0x202;
    regs->rsp = USER_STACK + PAGE_SIZE;
    regs->ss = USER_DS;
    uint64_t *frame = (uint64_t *)regs - 7;
    for (int i = 0; i < 6; i++)
        frame[i] = 0; /* r15 r14 r13 r12 rbx rbp */
    frame[6] = (uint64_t)ret_from_fork;
    t->rsp = (uint64_t)frame;

    t->state = TASK_RUNNING;
    t->woken_tick = jiffies;
    enqueue(t, false);
    return t;
}

/* finish_task_switch(): drop the lazy mm reference the previous task gave up. */
static void finish_task_switch(struct task_struct *prev)
{
    (void)prev;
    struct mm_struct *mm = rq_prev_mm;
    rq_prev_mm = NULL;
    if (mm)
        mmdrop(mm);
}

void schedule_tail(struct task_struct *prev) { finish_task_switch(prev); }

/* context_switch() of Linux 3.2. */
static void context_switch(struct task_struct *prev, struct task_struct *next)
{
    struct mm_struct *mm = next->mm, *oldmm = prev->active_mm;
    if (!mm) {
        next->active_mm = oldmm; /* lazy TLB: borrow whatever is loaded */
        mmgrab(oldmm);
    } else {
        if (oldmm == mm && loaded_cr3 != (uint64_t)mm->pgd)
            kstats.cr3_mismatch_at_switch++; /* switch_mm() will not reload it */
        switch_mm(oldmm, mm);
    }
    if (!prev->mm) {
        prev->active_mm = NULL;
        rq_prev_mm = oldmm;
    }
    set_kernel_stack(next->kstack_top);
    trace(CR3RIG_TP_SWITCH, (uint64_t)prev->pid, (uint64_t)next->pid, loaded_cr3,
          (uint64_t)next->active_mm->pgd);
    struct task_struct *last = switch_to(prev, next);
    finish_task_switch(last);
}

static void __schedule(void)
{
    struct task_struct *prev = current;
    need_resched = false;
    if (prev->state == TASK_RUNNING && prev->pid != 0) {
        /* A task that used up its slice goes to the back; one preempted by a
         * higher class keeps its place at the front. */
        enqueue(prev, !prev->slice_expired);
        prev->slice_expired = false;
        prev->woken_tick = jiffies ? jiffies : 1; /* runnable from now on, waiting for the CPU */
    }
    struct task_struct *next = pick_next_task();
    if (next == prev)
        return;
    if (next->woken_tick) {
        uint64_t latency = jiffies - next->woken_tick;
        if (latency > next->max_latency)
            next->max_latency = latency;
        next->woken_tick = 0;
    }
    next->switches++;
    kstats.context_switches++;
    current = next;
    context_switch(prev, next);
}

void schedule(void)
{
    uint64_t flags = local_irq_save();
    __schedule();
    local_irq_restore(flags);
}

void preempt_disable(void)
{
    preempt_count++;
    __asm__ volatile("" ::: "memory");
}

void preempt_enable(void)
{
    __asm__ volatile("" ::: "memory");
    if (--preempt_count == 0 && need_resched)
        schedule();
}

/* On the way out of an interrupt or syscall. preempt_count is one counter for the
 * CPU rather than per task: no task ever switches away with preemption disabled. */
void preempt_schedule_irq(void) { schedule(); }

void wake_up_process(struct task_struct *t)
{
    if (t->state != TASK_INTERRUPTIBLE)
        return;
    t->state = TASK_RUNNING;
    t->waiting_child = false;
    t->wake_at = 0;
    t->woken_tick = jiffies ? jiffies : 1;
    enqueue(t, false);
    if (preempts(t, current))
        need_resched = true;
}

void sleep_ticks(uint64_t ticks, bool for_child)
{
    uint64_t flags = local_irq_save();
    current->state = TASK_INTERRUPTIBLE;
    current->wake_at = ticks ? jiffies + ticks : 0;
    current->waiting_child = for_child;
    __schedule();
    local_irq_restore(flags);
}

static void rt_throttle_tick(void)
{
    if (current->policy == SCHED_FIFO && !rt_is_throttled && ++rt_time >= RT_RUNTIME_TICKS) {
        rt_is_throttled = true;
        rt_throttles++;
        need_resched = true;
        trace(CR3RIG_TP_RT_THROTTLE, 1, jiffies, 0, 0);
    }
    if (rt_is_throttled)
        kstats.rt_throttled_ticks++;
    if (jiffies % RT_PERIOD_TICKS == 0) {
        rt_time = 0;
        if (rt_is_throttled) {
            rt_is_throttled = false;
            need_resched = true;
            trace(CR3RIG_TP_RT_THROTTLE, 0, jiffies, 0, 0);
        }
    }
}

/* The timer interrupt: time, wake-ups, accounting, slices, throttling. */
void scheduler_tick(void)
{
    jiffies++;
    current->runtime_ticks++;
    for (int i = 1; i < MAX_TASKS; i++)
        if (tasks[i].state == TASK_INTERRUPTIBLE && tasks[i].wake_at && tasks[i].wake_at <= jiffies)
            wake_up_process(&tasks[i]);
    if (current->pid != 0 && current->policy == SCHED_NORMAL && --current->slice <= 0) {
        current->slice = NORMAL_SLICE_TICKS;
        current->slice_expired = true;
        need_resched = true;
    }
    rt_throttle_tick();
}
