/* The freestanding library of cr3rig's ELF64 guests: base.h, rig-port messages, asserts. */
#ifndef CR3RIG_GUEST_H
#define CR3RIG_GUEST_H

#include "base.h"

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

/* Rig-port messages (see cr3rig_msg in cr3rig/abi.h). */
void rig_log(const char *text);
void rig_trace(uint32_t event, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
void rig_assert_failed(const char *file, unsigned line, const char *expr);

#define GUEST_ASSERT(expr)                                                  \
    do {                                                                    \
        if (!(expr)) {                                                      \
            rig_assert_failed(__FILE__, __LINE__, #expr);                   \
            guest_exit(1);                                                  \
        }                                                                   \
    } while (0)

int main(void);

#endif
