/* A guest whose assert fails: the host must report this file and line and exit 1. */
#include "guest.h"

int main(void)
{
    int answer = 41;
    console_puts("fail: about to assert\n");
    GUEST_ASSERT(answer == 42);
    return 0;
}
