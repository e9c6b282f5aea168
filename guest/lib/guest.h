/* The freestanding library of cr3rig guests: console, rig-port messages, asserts, exit. */
#ifndef CR3RIG_GUEST_H
#define CR3RIG_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "cr3rig/abi.h"

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

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

size_t guest_strlen(const char *s);

/* Serial console (16550 at CR3RIG_UART_PORT). */
void console_putc(char c);
void console_puts(const char *s);
void console_put_u64(uint64_t v);

/* Rig-port messages (see cr3rig_msg in cr3rig/abi.h). */
void rig_log(const char *text);
void rig_trace(uint32_t event, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
void rig_assert_failed(const char *file, unsigned line, const char *expr);

/* Ends the run through the debug-exit port: 0 = pass, anything else = fail. */
__attribute__((noreturn)) void guest_exit(int code);

#define GUEST_ASSERT(expr)                                                  \
    do {                                                                    \
        if (!(expr)) {                                                      \
            rig_assert_failed(__FILE__, __LINE__, #expr);                   \
            guest_exit(1);                                                  \
        }                                                                   \
    } while (0)

int main(void);

#endif
