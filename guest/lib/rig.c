#include "guest.h"

/* Identity-mapped guests: a pointer is its own guest-physical address. */
static uint64_t gpa_of(const void *p) { return (uint64_t)(uintptr_t)p; }

static void rig_send(volatile struct cr3rig_msg *msg)
{
    /* The host reads the message during the `out`; the barrier keeps the stores before it. */
    __asm__ volatile("" ::: "memory");
    outl(CR3RIG_RIG_PORT, (uint32_t)gpa_of((const void *)msg));
}

void rig_log(const char *text)
{
    struct cr3rig_msg msg = {0};
    msg.kind = CR3RIG_MSG_LOG;
    msg.text_gpa = gpa_of(text);
    msg.text_len = (uint32_t)guest_strlen(text);
    rig_send(&msg);
}

void rig_trace(uint32_t event, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
    struct cr3rig_msg msg = {0};
    msg.kind = CR3RIG_MSG_TRACE;
    msg.event = event;
    msg.args[0] = a0;
    msg.args[1] = a1;
    msg.args[2] = a2;
    msg.args[3] = a3;
    rig_send(&msg);
}

void rig_assert_failed(const char *file, unsigned line, const char *expr)
{
    struct cr3rig_msg msg = {0};
    msg.kind = CR3RIG_MSG_ASSERT;
    msg.line = line;
    msg.file_gpa = gpa_of(file);
    msg.text_gpa = gpa_of(expr);
    msg.text_len = (uint32_t)guest_strlen(expr);
    rig_send(&msg);
}
