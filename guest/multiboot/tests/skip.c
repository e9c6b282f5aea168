/* mb-skip: nothing it can test here, so it skips (exit 77, kvm-unit-tests' convention). */
#include "mb.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    report_skip("needs hardware this machine does not have");
    return report_summary();
}
