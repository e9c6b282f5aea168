/* mb-pass: a multiboot test binary whose checks all pass. */
#include "mb.h"

int main(int argc, char **argv)
{
    (void)argv;
    const struct cr3rig_mb_info *info = mb_info();
    report("started with a command line", argc >= 1);
    report("memory info from the loader", (info->flags & CR3RIG_MBI_MEMORY) && info->mem_upper > 0);
    return report_summary();
}
