#include "base.h"

#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE 0x20

size_t guest_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

void console_putc(char c)
{
    /* A real 16550 may be busy; ours never is, but a guest must not assume that. */
    while (!(inb(CR3RIG_UART_PORT + UART_LSR) & UART_LSR_THRE))
        ;
    outb(CR3RIG_UART_PORT + UART_THR, (uint8_t)c);
}

void console_puts(const char *s)
{
    while (*s)
        console_putc(*s++);
}

void console_put_u64(uint64_t v)
{
    char buf[21];
    int i = sizeof(buf) - 1;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    console_puts(&buf[i]);
}
