/*
 * A guest that reports the way a kvm-unit-tests test does: one PASS:/FAIL:/SKIP: line
 * per check on the console, then a SUMMARY: line, and exit 0 only if no check failed.
 * `cr3rig test` turns these lines into its reports (docs/suite.md). Built twice: with
 * REPORT_FAIL one more check fails, for the runner's negative tests.
 */
#include "guest.h"

static unsigned tests, failures, skipped;

static void report(const char *name, int ok)
{
    tests++;
    failures += !ok;
    console_puts(ok ? "PASS: " : "FAIL: ");
    console_puts(name);
    console_puts("\n");
}

static void report_skip(const char *name, const char *why)
{
    tests++;
    skipped++;
    console_puts("SKIP: ");
    console_puts(name);
    console_puts(": ");
    console_puts(why);
    console_puts("\n");
}

static uint64_t read_cr(int which)
{
    uint64_t v = 0;
    if (which == 0)
        __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    else if (which == 3)
        __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    else
        __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

int main(void)
{
    volatile int two = 2; /* not folded: the failing check must really run */

    report("cr0: paging enabled", (read_cr(0) >> 31) & 1);
    report("cr4: PAE enabled", (read_cr(4) >> 5) & 1);
    report("cr3: page-table root page aligned", (read_cr(3) & 0xfff) == 0);
#ifdef REPORT_FAIL
    report("arith: 2 + 2 == 5", two + 2 == 5);
#else
    report("arith: 2 + 2 == 4", two + 2 == 4);
#endif
    report_skip("smp: IPI round trip", "one vCPU");

    console_puts("SUMMARY: ");
    console_put_u64(tests);
    console_puts(" tests");
    if (failures) {
        console_puts(", ");
        console_put_u64(failures);
        console_puts(" unexpected failures");
    }
    console_puts(", ");
    console_put_u64(skipped);
    console_puts(" skipped\n");
    return failures ? 1 : 0;
}
