/* The smallest useful guest: a line on the console, a log line, exit 0. */
#include "guest.h"

int main(void)
{
    console_puts("hello from cr3rig guest\n");
    rig_log("hello: done");
    return 0;
}
