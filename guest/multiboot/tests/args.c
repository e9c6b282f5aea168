/*
 * mb-args: prints its argv and environment, and passes only when started with the
 * arguments `alpha beta=2` (cr3rig run --cmdline 'alpha beta=2', QEMU -append). With
 * an environment module it also checks ANSWER=42 (cr3rig run --env FILE).
 */
#include "mb.h"

int main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        console_puts("argv[");
        console_put_u64((uint64_t)i);
        console_puts("] = ");
        console_puts(argv[i]);
        console_putc('\n');
    }
    for (int i = 0; mb_environ(i); i++) {
        console_puts("env ");
        console_puts(mb_environ(i));
        console_putc('\n');
    }
    report("argc is 3", argc == 3);
    report("argv[1] is alpha", argc > 1 && mb_streq(argv[1], "alpha"));
    report("argv[2] is beta=2", argc > 2 && mb_streq(argv[2], "beta=2"));
    const char *answer = mb_getenv("ANSWER");
    if (answer)
        report("environment ANSWER is 42", mb_streq(answer, "42"));
    else
        report_skip("environment ANSWER (no environment module)");
    return report_summary();
}
