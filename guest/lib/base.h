/*
 * What every cr3rig guest has, however it boots (ELF64 in long mode, or multiboot):
 * port I/O, the serial console and the end of the run through the debug-exit port.
 */
#ifndef CR3RIG_GUEST_BASE_H
#define CR3RIG_GUEST_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "cr3rig/abi.h"

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

size_t guest_strlen(const char *s);

/* Serial console (16550 at CR3RIG_UART_PORT). */
void console_putc(char c);
void console_puts(const char *s);
void console_put_u64(uint64_t v);

/* Ends the run through the debug-exit port: 0 = pass, CR3RIG_EXIT_SKIP = skip,
 * anything else = fail. */
__attribute__((noreturn)) void guest_exit(int code);

#endif
