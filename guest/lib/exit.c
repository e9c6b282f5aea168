#include "base.h"

void guest_exit(int code)
{
    outl(CR3RIG_DEBUG_EXIT_PORT, (uint32_t)code);
    /* Only reached if the host ignored the exit: stop here without busy-waiting. */
    for (;;)
        __asm__ volatile("cli; hlt");
}
