/* mb-timeout: never finishes; only the host's deadline ends it (exit 124). */
#include "mb.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    console_puts("mb-timeout: spinning forever\n");
    for (;;)
        __asm__ volatile("pause");
}
