/*
 * Hostile guest: it reports a failed assert whose file-name pointer lies outside
 * guest memory. The message is malformed, but the guest has failed: the run must
 * fail, its reason saying the file name was unreadable, and never pass.
 */
#include "guest.h"

int main(void)
{
    static volatile struct cr3rig_msg msg;
    static const char expr[] = "hostile-bad-assert: 1 == 2";

    msg.kind = CR3RIG_MSG_ASSERT;
    msg.line = 42;
    msg.file_gpa = 0xfffff000ull; /* far beyond guest memory */
    msg.text_gpa = (uint64_t)(uintptr_t)expr;
    msg.text_len = sizeof expr - 1;
    __asm__ volatile("" ::: "memory");
    outl(CR3RIG_RIG_PORT, (uint32_t)(uintptr_t)&msg);
    console_puts("hostile-bad-assert: the rig let the malformed assert pass\n");
    return 0;
}
