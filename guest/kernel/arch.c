/* GDT, TSS, IDT, the x2APIC timer, and the C side of interrupt entry. */
#include "kernel.h"

struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp0, rsp1, rsp2;
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};

struct __attribute__((packed)) idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};

struct __attribute__((packed)) desc_ptr {
    uint16_t size; /* limit: bytes - 1 */
    uint64_t address;
};

static struct tss64 tss __attribute__((aligned(16)));
static uint64_t gdt[7] __attribute__((aligned(16)));
static struct idt_entry idt[256] __attribute__((aligned(16)));

extern char vector_0[], vector_1[], vector_2[], vector_3[], vector_4[], vector_5[], vector_6[], vector_7[],
    vector_8[], vector_9[], vector_10[], vector_11[], vector_12[], vector_13[], vector_14[], vector_15[],
    vector_16[], vector_17[], vector_18[], vector_19[], vector_48[], vector_255[];

static void set_intr_gate(int vec, void *handler)
{
    uint64_t addr = (uint64_t)handler;
    idt[vec].offset_low = (uint16_t)addr;
    idt[vec].selector = KERNEL_CS;
    idt[vec].ist = 0;
    idt[vec].type_attr = 0x8e; /* present, DPL 0, 64-bit interrupt gate: IF cleared on entry */
    idt[vec].offset_mid = (uint16_t)(addr >> 16);
    idt[vec].offset_high = (uint32_t)(addr >> 32);
}

void set_kernel_stack(uint8_t *top) { tss.rsp0 = (uint64_t)top; }

void arch_init(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00af9a000000ffffull; /* 0x08 kernel code, 64-bit */
    gdt[2] = 0x00cf92000000ffffull; /* 0x10 kernel data */
    gdt[3] = 0x00cff2000000ffffull; /* 0x18 user data, DPL 3 */
    gdt[4] = 0x00affa000000ffffull; /* 0x20 user code, 64-bit, DPL 3 */
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
             (((base >> 24) & 0xff) << 56);
    gdt[6] = base >> 32;
    tss.iomap_base = sizeof(tss);

    struct desc_ptr gdtr = {sizeof(gdt) - 1, (uint64_t)gdt};
    __asm__ volatile("lgdt %0\n\t"
                     "mov %1, %%ds\n\t"
                     "mov %1, %%es\n\t"
                     "mov %1, %%ss\n\t"
                     "pushq %2\n\t"
                     "lea 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "ltr %w3" ::"m"(gdtr),
                     "r"((uint64_t)KERNEL_DS), "i"(KERNEL_CS), "r"((uint64_t)TSS_SEL)
                     : "rax", "memory");

    void *stubs[20] = {vector_0,  vector_1,  vector_2,  vector_3,  vector_4,  vector_5,  vector_6,
                       vector_7,  vector_8,  vector_9,  vector_10, vector_11, vector_12, vector_13,
                       vector_14, vector_15, vector_16, vector_17, vector_18, vector_19};
    for (int v = 0; v < 20; v++)
        set_intr_gate(v, stubs[v]);
    set_intr_gate(TIMER_VECTOR, vector_48);
    set_intr_gate(SPURIOUS_VECTOR, vector_255);
    struct desc_ptr idtr = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" ::"m"(idtr));
}

/* ---- x2APIC ---- */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_X2APIC (1ull << 10)
#define MSR_X2APIC_EOI 0x80b
#define MSR_X2APIC_SVR 0x80f
#define MSR_X2APIC_LVT_TIMER 0x832
#define MSR_X2APIC_TIMER_INIT 0x838
#define MSR_X2APIC_TIMER_DIV 0x83e
#define LVT_TIMER_PERIODIC (1u << 17)

void apic_timer_init(void)
{
    uint32_t eax = 1, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
    if (!(ecx & (1u << 21)))
        panic("no x2APIC in CPUID", ecx);
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
    wrmsr(MSR_X2APIC_SVR, 0x100 | SPURIOUS_VECTOR);
    wrmsr(MSR_X2APIC_TIMER_DIV, 0xb); /* divide by 1: KVM's APIC bus runs at 1 GHz */
    wrmsr(MSR_X2APIC_LVT_TIMER, LVT_TIMER_PERIODIC | TIMER_VECTOR);
    wrmsr(MSR_X2APIC_TIMER_INIT, TICK_NS);
}

void ack_APIC_irq(void) { wrmsr(MSR_X2APIC_EOI, 0); }

/* ---- console helpers ---- */
void print_hex(uint64_t v)
{
    char buf[19] = "0x";
    int n = 0;
    for (int shift = 60; shift >= 0; shift -= 4) {
        int d = (v >> shift) & 0xf;
        if (d || n || shift == 0)
            buf[2 + n++] = "0123456789abcdef"[d];
    }
    buf[2 + n] = 0;
    console_puts(buf);
}

void print_kv(const char *key, uint64_t value)
{
    console_puts(key);
    console_putc('=');
    console_put_u64(value);
}

void panic(const char *why, uint64_t value)
{
    __asm__ volatile("cli");
    console_puts("\nlazytlb: PANIC: ");
    console_puts(why);
    console_puts(" ");
    print_hex(value);
    console_puts("\n");
    guest_exit(3);
}

/* ---- interrupt entry (called from entry.S with the frame it built) ---- */
/* The system-call instruction of this kernel is `ud2` (see SYS_* in kernel.h). */
static bool is_syscall(const struct pt_regs *regs)
{
    const uint8_t *insn = (const uint8_t *)regs->rip;
    return regs->vector == 6 && user_mode(regs) && regs->rip >= USER_CODE && regs->rip + 2 <= USER_CODE + PAGE_SIZE &&
           insn[0] == 0x0f && insn[1] == 0x0b;
}

static void exception(struct pt_regs *regs)
{
    if (is_syscall(regs)) {
        regs->rip += 2;
        do_syscall(regs);
        return;
    }
    if (!user_mode(regs)) {
        console_puts("\nlazytlb: kernel exception ");
        console_put_u64(regs->vector);
        console_puts(" at rip ");
        print_hex(regs->rip);
#ifdef LAZYTLB_INLINE
        console_puts(" CR3 "); /* as 3.2's __show_regs() */
        print_hex(read_cr3());
#endif
        panic("in kernel mode", regs->error_code);
    }
    current->killed = true;
    current->killed_addr = regs->rip;
    do_exit(128 + (int)regs->vector);
}

/* What the timer interrupt does, entered from kernel code instead of by the
 * hardware: the tick, then preemption if the interrupted code allowed it. */
void timer_tick_from_kernel(void)
{
    uint64_t flags = local_irq_save();
    scheduler_tick();
    if (need_resched && preempt_count == 0 && (flags & RFLAGS_IF))
        preempt_schedule_irq();
    local_irq_restore(flags);
}

void interrupt_dispatch(struct pt_regs *regs)
{
    switch (regs->vector) {
    case 14: do_page_fault(regs); break;
    case TIMER_VECTOR:
        ack_APIC_irq();
        scheduler_tick();
        break;
    case SPURIOUS_VECTOR: break;
    default: exception(regs); break;
    }
    /* Preemption on return from interrupt: always to user mode, and to kernel mode
     * when the interrupted code had interrupts on and preemption enabled. */
    if (need_resched && (user_mode(regs) || (preempt_count == 0 && (regs->rflags & RFLAGS_IF))))
        preempt_schedule_irq();
}
