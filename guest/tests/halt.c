/*
 * A guest that halts with interrupts off. With the in-kernel irqchip KVM_RUN
 * then blocks forever inside the kernel; only the watchdog's kick ends it.
 */
#include "guest.h"

int main(void)
{
    console_puts("halt: cli; hlt\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}
