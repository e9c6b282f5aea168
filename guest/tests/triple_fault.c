/*
 * A guest that triple-faults: with an empty IDT, #UD cannot be delivered,
 * neither can the #DF that follows, and the CPU shuts down.
 */
#include "guest.h"

int main(void)
{
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint64_t base;
    } empty_idt = {0, 0};

    console_puts("triple-fault: loading an empty IDT\n");
    __asm__ volatile("lidt %0; ud2" ::"m"(empty_idt));
    return 0;
}
