/*
 * Hostile guest: rig-port messages that are wrong in every way the host must
 * check (outside guest memory, a text outside guest memory, a huge length, an
 * unknown kind, a write of the wrong size), then a flood of log messages. The rig
 * must report each bad one, clamp the huge one, rate-limit the flood with a count
 * of what it dropped, and let the guest pass.
 */
#include "guest.h"

#define FLOOD 30000

static void send(volatile struct cr3rig_msg *msg)
{
    __asm__ volatile("" ::: "memory");
    outl(CR3RIG_RIG_PORT, (uint32_t)(uintptr_t)msg);
}

int main(void)
{
    static volatile struct cr3rig_msg msg;
    static const char text[] = "hostile-rigport: a text that is not NUL-terminated where its length ends";

    outl(CR3RIG_RIG_PORT, 0xfffffff0u); /* 1: the message itself is outside guest memory */

    msg.kind = CR3RIG_MSG_LOG;
    msg.text_gpa = 0xfffff000ull; /* 2: its text is outside guest memory */
    msg.text_len = 16;
    send(&msg);

    msg.text_gpa = (uint64_t)(uintptr_t)text;
    msg.text_len = 0xffffffffu; /* clamped to CR3RIG_MSG_TEXT_MAX, not an error */
    send(&msg);

    msg.text_len = 20; /* unterminated: only these bytes are taken */
    send(&msg);

    msg.kind = 99; /* 3: unknown kind */
    send(&msg);

    outb(CR3RIG_RIG_PORT, 1); /* 4: an 8-bit write instead of a 32-bit one */

    msg.kind = CR3RIG_MSG_LOG;
    msg.text_len = 16;
    for (int i = 0; i < FLOOD; i++)
        send(&msg);

    console_puts("hostile-rigport: 4 bad messages and a flood sent\n");
    return 0;
}
