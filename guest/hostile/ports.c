/*
 * Hostile guest: writes and reads ports no device claims, and MMIO addresses where
 * there is no RAM and no device. The rig must count them, read them as all ones,
 * and let the guest go on to pass.
 */
#include "guest.h"

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

int main(void)
{
    outb(0x80, 1);
    outl(0x1234, 0xdeadbeef);
    outb(0xffff, 2);
    GUEST_ASSERT(inb(0x1235) == 0xff);
    GUEST_ASSERT(inl(0x2100) == 0xffffffffu); /* past pc-testdev's IRQ-line ports at 0x2000 */

    volatile uint32_t *no_ram = (volatile uint32_t *)0xc0000000ull; /* 3 GiB: mapped, no RAM */
    *no_ram = 0x12345678;
    GUEST_ASSERT(*no_ram == 0xffffffffu);
    volatile uint64_t *no_device = (volatile uint64_t *)0xfed00000ull; /* where an HPET would be */
    GUEST_ASSERT(*no_device == ~0ull);

    console_puts("hostile-ports: 5 port and 3 MMIO accesses nobody claims, all survived\n");
    return 0;
}
