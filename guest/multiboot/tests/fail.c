/* mb-fail: one check passes, one fails on purpose: the run must fail. */
#include "mb.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    report("one plus one is two", 1 + 1 == 2);
    report("this check fails on purpose", 0);
    return report_summary();
}
