/*
 * Boot, the scenario, and the summary. The scenario is the seed's: task A, a
 * normal process, exits while B, an RT process (A's parent, waiting for it one
 * tick at a time while touching its own memory), and C, another normal process,
 * are runnable. The kernel then reports, per task, what happened, and exits 0
 * if every task did what it should and every consistency check held.
 */
#include "kernel.h"

extern const char prog_spinner[], prog_spinner_end[];
extern const char prog_rt_periodic[], prog_rt_periodic_end[];
extern const char prog_segv[], prog_segv_end[];
extern const char prog_mm_churn[], prog_mm_churn_end[];

#if defined(LAZYTLB_FIXED) && defined(LAZYTLB_SELFPREEMPT)
#define VARIANT "fixed-selfpreempt"
#elif defined(LAZYTLB_FIXED)
#define VARIANT "fixed"
#elif defined(LAZYTLB_SELFPREEMPT)
#define VARIANT "selfpreempt"
#else
#define VARIANT "buggy"
#endif
#ifdef LAZYTLB_INLINE
#define VARIANT_PREFIX "inline-"
#else
#define VARIANT_PREFIX ""
#endif

struct scenario_task {
    const char *name;
    enum sched_policy policy;
    int rt_priority;
    const char *code, *code_end;
    uint64_t args[3];
    int parent;         /* index into the scenario, -1 = the kernel */
    bool expect_killed; /* a program that is meant to die of an invalid access */
};

#ifdef LAZYTLB_SCENARIO_SEGV
#define SCENARIO_NAME "segv"
static const struct scenario_task scenario[] = {
    {"D", SCHED_NORMAL, 0, prog_segv, prog_segv_end, {0}, -1, true},
    {"C", SCHED_NORMAL, 0, prog_spinner, prog_spinner_end, {20000000, 0}, -1, false},
};
#else
#define SCENARIO_NAME "seed"
#define MM_CHURN_ROUNDS 4
static const struct scenario_task scenario[] = {
    /* B: RT, at least 20 periods, until it has reaped its child A, at most 400 periods */
    {"B", SCHED_FIFO, 50, prog_rt_periodic, prog_rt_periodic_end, {20, 1, 400}, -1, false},
    /* A: spins ~15 ms of user time, then exits */
    {"A", SCHED_NORMAL, 0, prog_spinner, prog_spinner_end, {40000000, 0}, 0, false},
#ifdef LAZYTLB_INLINE
    /* C: first MM_CHURN_ROUNDS rounds of the mapping system calls, then as below */
    {"C", SCHED_NORMAL, 0, prog_mm_churn, prog_mm_churn_end, {200000000, 0, MM_CHURN_ROUNDS}, -1, false},
#else
    /* C: spins long enough to still be runnable well after A has gone */
    {"C", SCHED_NORMAL, 0, prog_spinner, prog_spinner_end, {200000000, 0}, -1, false},
#endif
};
#endif
#define SCENARIO_TASKS (sizeof(scenario) / sizeof(scenario[0]))

static struct task_struct *spawned[SCENARIO_TASKS];

/* " key=value" */
static void field(const char *key, uint64_t value)
{
    console_putc(' ');
    print_kv(key, value);
}

static void print_task(const struct task_struct *t)
{
    const struct fault_stats *stats = &t->fault_stats;
    console_puts("lazytlb: task ");
    console_puts(t->name);
    field("pid", (uint64_t)t->pid);
    console_puts(t->policy == SCHED_FIFO ? " policy=fifo" : " policy=normal");
    field("exit", (uint64_t)t->exit_code);
    field("killed", t->killed);
    field("runtime_ticks", t->runtime_ticks);
    field("max_wait_ticks", t->max_latency);
    field("faults", stats->faults);
    field("spurious_faults", stats->spurious);
    field("storms", stats->storms);
    field("storm_faults", stats->storm_faults);
    field("storm_ticks", stats->storm_ticks);
    if (stats->storms) {
        console_puts(" storm_addr=");
        print_hex(stats->storm_addr);
    }
    if (t->killed) {
        console_puts(" killed_addr=");
        print_hex(t->killed_addr);
    }
    console_puts("\n");
}

static void print_line(const char *prefix, const char *key, uint64_t value)
{
    console_puts(prefix);
    print_kv(key, value);
    console_puts("\n");
}

/* Prints the summary; returns the number of things that went wrong. */
static int summarize(unsigned free_before)
{
    int problems = 0;
    for (unsigned i = 0; i < SCENARIO_TASKS; i++) {
        const struct task_struct *t = spawned[i];
        print_task(t);
        if (t->killed != scenario[i].expect_killed || (!t->killed && t->exit_code != 0))
            problems++;
        if (t->fault_stats.storms)
            problems++;
    }
    unsigned free_after = nr_free_pages();
    print_line("lazytlb: ", "stale_cr3_writes", cr3rig_accounting.stale_cr3_writes);
    print_line("lazytlb: ", "cr3_mismatch_at_switch", kstats.cr3_mismatch_at_switch);
    print_line("lazytlb: ", "tlb_flushes", kstats.tlb_flushes);
    print_line("lazytlb: ", "context_switches", kstats.context_switches);
    print_line("lazytlb: ", "rt_throttles", rt_throttle_count());
    print_line("lazytlb: ", "rt_throttled_ticks", kstats.rt_throttled_ticks);
    print_line("lazytlb: ", "pages_freed_by_exit", kstats.pages_freed_by_exit);
    print_line("lazytlb: ", "pgds_freed", kstats.pgds_freed);
    print_line("lazytlb: ", "pages_leaked", free_before - free_after);
    print_line("lazytlb: ", "ticks", jiffies);
#ifdef LAZYTLB_INLINE
    print_line("lazytlb: ", "mm_syscalls", mm_syscalls);
#endif
    problems += cr3rig_accounting.stale_cr3_writes != 0;
    problems += kstats.cr3_mismatch_at_switch != 0;
    problems += free_after != free_before;
    return problems;
}

int main(void)
{
    console_puts("lazytlb: " VARIANT_PREFIX VARIANT " kernel, scenario " SCENARIO_NAME "\n");
    arch_init();
    page_alloc_init();
    kernel_page_tables_init();
    sched_init();
#ifdef LAZYTLB_INLINE
    __flush_tlb_all(); /* as at the end of 3.2's init_memory_mapping(); here once current exists */
#endif
    unsigned free_before = nr_free_pages();

    for (unsigned i = 0; i < SCENARIO_TASKS; i++) {
        const struct scenario_task *s = &scenario[i];
        struct task_struct *parent = s->parent >= 0 ? spawned[s->parent] : NULL;
        spawned[i] = task_create(s->name, s->policy, s->rt_priority, s->code, (size_t)(s->code_end - s->code), s->args,
                                 3, parent);
    }
    apic_timer_init();

    /* The idle loop: sleep until the tick, let the scheduler run the tasks. */
    need_resched = true;
    while (live_user_tasks()) {
        if (need_resched)
            schedule();
        __asm__ volatile("sti; hlt; cli");
    }
    /* The idle task still borrows the last process's mm (lazy TLB); give it back
     * so that the page count below sees every page of every exited process. */
    struct mm_struct *lazy = current->active_mm;
    current->active_mm = &init_mm;
    switch_mm(lazy, &init_mm);
    mmdrop(lazy);
    int problems = summarize(free_before);
    console_puts(problems ? "lazytlb: verdict: FAILED\n" : "lazytlb: verdict: ok\n");
    return problems ? 1 : 0;
}
