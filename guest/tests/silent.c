/* A guest that never prints and never finishes, as one that hangs before its console
 * comes up: `--boot-timeout` must end it early with "no output from the guest". */
#include "guest.h"

int main(void)
{
    for (;;)
        __asm__ volatile("pause");
}
