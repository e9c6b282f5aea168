/* A guest that never finishes: the host's deadline must end the run (exit 124). */
#include "guest.h"

int main(void)
{
    console_puts("hang: spinning forever\n");
    for (;;)
        __asm__ volatile("pause");
}
