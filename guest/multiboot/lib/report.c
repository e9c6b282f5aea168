#include "mb.h"

static unsigned tests, failures, skipped;

static void line(const char *verdict, const char *name)
{
    console_puts(verdict);
    console_puts(": ");
    console_puts(name);
    console_putc('\n');
}

void report(const char *name, int pass)
{
    tests++;
    if (!pass)
        failures++;
    line(pass ? "PASS" : "FAIL", name);
}

void report_skip(const char *name)
{
    tests++;
    skipped++;
    line("SKIP", name);
}

int report_summary(void)
{
    console_puts("SUMMARY: ");
    console_put_u64(tests);
    console_puts(" tests, ");
    console_put_u64(failures);
    console_puts(" unexpected failures");
    if (skipped) {
        console_puts(", ");
        console_put_u64(skipped);
        console_puts(" skipped");
    }
    console_putc('\n');
    if (failures)
        return 1;
    return tests && skipped == tests ? CR3RIG_EXIT_SKIP : 0;
}

void mb_assert_failed(const char *file, unsigned line, const char *expr)
{
    console_puts("FAIL: ");
    console_puts(file);
    console_putc(':');
    console_put_u64(line);
    console_puts(": ");
    console_puts(expr);
    console_putc('\n');
    guest_exit(1);
}
