/*
 * The host/guest ABI of cr3rig: port numbers, the rig-port message layout and
 * the exit-status convention. This is the only place they are defined; the
 * guest library (C) and the VMM (C++) both include it.
 */
#ifndef CR3RIG_ABI_H
#define CR3RIG_ABI_H

#ifdef __cplusplus
#include <cstdint>
#define CR3RIG_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#include <stdint.h>
#define CR3RIG_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Port ranges: [base, base + len). */
#define CR3RIG_PIC1_PORT        0x0020u  /* legacy 8259 master, 2 ports */
#define CR3RIG_PIC1_LEN         2u
#define CR3RIG_PIT_PORT         0x0040u  /* 8254 PIT, 4 ports */
#define CR3RIG_PIT_LEN          4u
#define CR3RIG_PIC2_PORT        0x00a0u  /* legacy 8259 slave, 2 ports */
#define CR3RIG_PIC2_LEN         2u
#define CR3RIG_DEBUG_EXIT_PORT  0x00f4u  /* isa-debug-exit: status = (v << 1) | 1 */
#define CR3RIG_DEBUG_EXIT_LEN   1u
#define CR3RIG_EXIT_SKIP        77u      /* debug-exit value of a skipped test (cr3rig's own guests) */
#define CR3RIG_EXIT_SKIP_KUT    38u      /* kvm-unit-tests' skip: report_summary() returns 77 >> 1, QEMU exits 77 */
#define CR3RIG_UART_PORT        0x03f8u  /* 16550 COM1, 8 registers */
#define CR3RIG_UART_LEN         8u
#define CR3RIG_FW_CFG_PORT      0x0510u  /* QEMU fw_cfg selector + data (+ DMA at 0x514) */
#define CR3RIG_FW_CFG_LEN       12u
#define CR3RIG_FW_CFG_SELECTOR_PORT CR3RIG_FW_CFG_PORT        /* 16-bit out: the item's key */
#define CR3RIG_FW_CFG_DATA_PORT     (CR3RIG_FW_CFG_PORT + 1u) /* 8-bit in: the item's next byte */
#define CR3RIG_FW_CFG_IO_LEN        2u  /* the ports cr3rig serves: no DMA interface */
#define CR3RIG_RIG_PORT         0x04f0u  /* guest -> host messages, a 32-bit out */
#define CR3RIG_RIG_LEN          4u
/* Patched traps: the rig rewrites each trapped site into `out %al, $CR3RIG_TRAP_PORT`
 * (two bytes: the port must fit in the instruction's imm8). An `out` there from any
 * other place is dispatched as to any unclaimed port. */
#define CR3RIG_TRAP_PORT        0x00efu
#define CR3RIG_TRAP_LEN         1u
#define CR3RIG_BENCH_PORT       0x04f8u  /* no-op port: one write = one exit, for benchmarks */
#define CR3RIG_BENCH_LEN        1u
/* The PC devices kvm-unit-tests expects (docs/devices.md). */
#define CR3RIG_RTC_PORT         0x0070u  /* MC146818 CMOS RTC: index (bit 7 = NMI mask), data */
#define CR3RIG_RTC_LEN          2u
#define CR3RIG_TESTDEV_PORT     0x00e0u  /* QEMU pc-testdev: data 0xe0, flush page 0xe4, byte data 0xe8 */
#define CR3RIG_TESTDEV_LEN      12u
#define CR3RIG_TESTDEV_IRQ_PORT 0x2000u  /* pc-testdev: one port per ISA/IOAPIC line, write = its level */
#define CR3RIG_TESTDEV_IRQ_LEN  24u
#define CR3RIG_TESTDEV_MMIO     0xff000000u /* pc-testdev iomem: 64 KiB that read back what was written */
#define CR3RIG_TESTDEV_MMIO_LEN 0x10000u
/* ACPI PM registers (the FADT points here): PM1a event (status, enable), PM1a control,
 * PM timer. QEMU's q35 has them at 0x600 too (its PIIX4 at 0xb000). */
#define CR3RIG_ACPI_PM_PORT     0x0600u
#define CR3RIG_ACPI_PM_LEN      12u
#define CR3RIG_ACPI_PM1A_EVT    (CR3RIG_ACPI_PM_PORT + 0u) /* 2 bytes status, 2 bytes enable */
#define CR3RIG_ACPI_PM1A_CNT    (CR3RIG_ACPI_PM_PORT + 4u) /* 2 bytes */
#define CR3RIG_ACPI_PM_TMR      (CR3RIG_ACPI_PM_PORT + 8u) /* 4 bytes, 24 bits count at 3.579545 MHz */
#define CR3RIG_ACPI_SCI_IRQ     9u

#define CR3RIG_RANGES_DISJOINT(a, alen, b, blen) ((a) + (alen) <= (b) || (b) + (blen) <= (a))
#define CR3RIG_PORT_FREE(p, len)                                           \
    (CR3RIG_RANGES_DISJOINT(p, len, CR3RIG_PIC1_PORT, CR3RIG_PIC1_LEN) &&   \
     CR3RIG_RANGES_DISJOINT(p, len, CR3RIG_PIT_PORT, CR3RIG_PIT_LEN) &&     \
     CR3RIG_RANGES_DISJOINT(p, len, CR3RIG_PIC2_PORT, CR3RIG_PIC2_LEN) &&   \
     CR3RIG_RANGES_DISJOINT(p, len, CR3RIG_UART_PORT, CR3RIG_UART_LEN) &&   \
     CR3RIG_RANGES_DISJOINT(p, len, CR3RIG_FW_CFG_PORT, CR3RIG_FW_CFG_LEN))

/* Our own ports must not collide with the standard PC devices, nor with each other. */
CR3RIG_STATIC_ASSERT(CR3RIG_PORT_FREE(CR3RIG_DEBUG_EXIT_PORT, CR3RIG_DEBUG_EXIT_LEN), "debug-exit port collides");
CR3RIG_STATIC_ASSERT(CR3RIG_PORT_FREE(CR3RIG_RIG_PORT, CR3RIG_RIG_LEN), "rig port collides");
CR3RIG_STATIC_ASSERT(CR3RIG_PORT_FREE(CR3RIG_BENCH_PORT, CR3RIG_BENCH_LEN), "bench port collides");
CR3RIG_STATIC_ASSERT(CR3RIG_PORT_FREE(CR3RIG_TRAP_PORT, CR3RIG_TRAP_LEN) && CR3RIG_TRAP_PORT <= 0xffu, "trap port collides");
CR3RIG_STATIC_ASSERT(CR3RIG_RANGES_DISJOINT(CR3RIG_TRAP_PORT, CR3RIG_TRAP_LEN, CR3RIG_TESTDEV_PORT, CR3RIG_TESTDEV_LEN) &&
                     CR3RIG_RANGES_DISJOINT(CR3RIG_TRAP_PORT, CR3RIG_TRAP_LEN, CR3RIG_DEBUG_EXIT_PORT, CR3RIG_DEBUG_EXIT_LEN) &&
                     CR3RIG_RANGES_DISJOINT(CR3RIG_TRAP_PORT, CR3RIG_TRAP_LEN, CR3RIG_RTC_PORT, CR3RIG_RTC_LEN),
                     "trap port collides with the rig's");
CR3RIG_STATIC_ASSERT(CR3RIG_PORT_FREE(CR3RIG_RTC_PORT, CR3RIG_RTC_LEN), "RTC ports collide");
CR3RIG_STATIC_ASSERT(CR3RIG_PORT_FREE(CR3RIG_TESTDEV_PORT, CR3RIG_TESTDEV_LEN), "pc-testdev ports collide");
CR3RIG_STATIC_ASSERT(CR3RIG_PORT_FREE(CR3RIG_TESTDEV_IRQ_PORT, CR3RIG_TESTDEV_IRQ_LEN), "pc-testdev IRQ ports collide");
CR3RIG_STATIC_ASSERT(CR3RIG_PORT_FREE(CR3RIG_ACPI_PM_PORT, CR3RIG_ACPI_PM_LEN), "ACPI PM ports collide");
CR3RIG_STATIC_ASSERT(CR3RIG_RANGES_DISJOINT(CR3RIG_TESTDEV_PORT, CR3RIG_TESTDEV_LEN, CR3RIG_DEBUG_EXIT_PORT, CR3RIG_DEBUG_EXIT_LEN), "pc-testdev and debug-exit ports collide");
CR3RIG_STATIC_ASSERT(CR3RIG_RANGES_DISJOINT(CR3RIG_ACPI_PM_PORT, CR3RIG_ACPI_PM_LEN, CR3RIG_FW_CFG_PORT, CR3RIG_FW_CFG_LEN) &&
                     CR3RIG_RANGES_DISJOINT(CR3RIG_ACPI_PM_PORT, CR3RIG_ACPI_PM_LEN, CR3RIG_RIG_PORT, CR3RIG_RIG_LEN) &&
                     CR3RIG_RANGES_DISJOINT(CR3RIG_ACPI_PM_PORT, CR3RIG_ACPI_PM_LEN, CR3RIG_BENCH_PORT, CR3RIG_BENCH_LEN),
                     "ACPI PM ports collide with the rig's");
CR3RIG_STATIC_ASSERT(CR3RIG_RANGES_DISJOINT(CR3RIG_RIG_PORT, CR3RIG_RIG_LEN, CR3RIG_BENCH_PORT, CR3RIG_BENCH_LEN), "rig and bench ports collide");
CR3RIG_STATIC_ASSERT(CR3RIG_RANGES_DISJOINT(CR3RIG_RIG_PORT, CR3RIG_RIG_LEN, CR3RIG_DEBUG_EXIT_PORT, CR3RIG_DEBUG_EXIT_LEN), "rig and debug-exit ports collide");
/* fw_cfg sits where QEMU puts it; what the rig serves of it must stay inside that range and off the PC devices. */
CR3RIG_STATIC_ASSERT(CR3RIG_FW_CFG_IO_LEN <= CR3RIG_FW_CFG_LEN, "fw_cfg ports outside the fw_cfg range");
CR3RIG_STATIC_ASSERT(CR3RIG_RANGES_DISJOINT(CR3RIG_FW_CFG_PORT, CR3RIG_FW_CFG_LEN, CR3RIG_PIC1_PORT, CR3RIG_PIC1_LEN) &&
                     CR3RIG_RANGES_DISJOINT(CR3RIG_FW_CFG_PORT, CR3RIG_FW_CFG_LEN, CR3RIG_PIT_PORT, CR3RIG_PIT_LEN) &&
                     CR3RIG_RANGES_DISJOINT(CR3RIG_FW_CFG_PORT, CR3RIG_FW_CFG_LEN, CR3RIG_PIC2_PORT, CR3RIG_PIC2_LEN) &&
                     CR3RIG_RANGES_DISJOINT(CR3RIG_FW_CFG_PORT, CR3RIG_FW_CFG_LEN, CR3RIG_UART_PORT, CR3RIG_UART_LEN),
                     "fw_cfg collides with a PC device");

/*
 * fw_cfg items (QEMU's keys) that cr3rig serves; every other key reads as zeros.
 * Values are little-endian, as QEMU gives them on x86.
 */
enum cr3rig_fw_cfg_key {
    CR3RIG_FW_CFG_SIGNATURE = 0x00, /* "QEMU" */
    CR3RIG_FW_CFG_ID = 0x01,        /* u32 feature bits: 1 = the port interface, no DMA */
    CR3RIG_FW_CFG_RAM_SIZE = 0x03,  /* u64 bytes of guest RAM */
    CR3RIG_FW_CFG_NB_CPUS = 0x05,   /* u16 CPUs present: 1 */
    CR3RIG_FW_CFG_MAX_CPUS = 0x0f,  /* u16 CPUs possible: 1 */
};

/*
 * Rig-port messages. The guest fills a struct cr3rig_msg in its memory and
 * writes the struct's guest-physical address to CR3RIG_RIG_PORT with a 32-bit
 * `out`. All addresses inside the message are guest-physical too. The host
 * checks every address and length against guest memory and clamps strings to
 * CR3RIG_MSG_TEXT_MAX bytes, so a bad message is reported, never trusted.
 */
enum cr3rig_msg_kind {
    CR3RIG_MSG_LOG = 1,    /* text: a log line from the guest */
    CR3RIG_MSG_ASSERT = 2, /* file, line, text = the failed expression; the run fails */
    CR3RIG_MSG_TRACE = 3,  /* a trace record: event + args, no text */
};

#define CR3RIG_MSG_TEXT_MAX 1024u

struct cr3rig_msg {
    uint32_t kind;     /* enum cr3rig_msg_kind */
    uint32_t line;     /* CR3RIG_MSG_ASSERT: source line */
    uint64_t file_gpa; /* CR3RIG_MSG_ASSERT: source file name */
    uint64_t text_gpa; /* text, not necessarily NUL-terminated */
    uint32_t text_len; /* bytes at text_gpa */
    uint32_t event;    /* CR3RIG_MSG_TRACE: event number, meaning is the guest's */
    uint64_t args[4];  /* CR3RIG_MSG_TRACE: event arguments */
};

CR3RIG_STATIC_ASSERT(sizeof(struct cr3rig_msg) == 64, "cr3rig_msg layout changed");

/*
 * Tracepoints of the lazytlb guest kernel (CR3RIG_MSG_TRACE events). They only
 * help people read a plain `cr3rig run -v`; the trap engine never depends on them.
 */
enum cr3rig_tracepoint {
    CR3RIG_TP_SWITCH = 1,    /* prev pid, next pid, CR3 after, next->active_mm's pgd */
    CR3RIG_TP_SWITCH_MM = 2, /* old pgd, new pgd, next pid */
    CR3RIG_TP_EXIT_MM = 3,   /* pid, pgd of the mm being released */
    CR3RIG_TP_CR3_WRITE = 4, /* value written, current pid, pgd of current->active_mm */
    CR3RIG_TP_FAULT_STORM = 5, /* pid, faults in the storm, ticks lost, faulting address */
    CR3RIG_TP_TASK_EXIT = 6, /* pid, exit code, killed, faults */
    CR3RIG_TP_RT_THROTTLE = 7, /* 1 = throttled / 0 = unthrottled, tick */
};

/*
 * A kernel's own count of what the rig detects, so that a disagreement between the
 * two is seen, never silent. A kernel that keeps one exports an object of this
 * layout under the symbol CR3RIG_ACCOUNTING_SYMBOL; the trap engine reads it when the
 * guest ends its run and compares it with its findings.
 */
#define CR3RIG_ACCOUNTING_SYMBOL "cr3rig_accounting"
#define CR3RIG_ACCOUNTING_MAGIC 0x746e756f63337263ull /* "cr3count" */

struct cr3rig_accounting {
    uint64_t magic;            /* CR3RIG_ACCOUNTING_MAGIC */
    uint64_t stale_cr3_writes; /* CR3 writes whose value was not current->active_mm's pgd */
};

/* Guest physical memory layout that the VMM sets up (the page tables for ELF64 guests only). */
#define CR3RIG_BOOT_GDT_GPA   0x1000u  /* flat GDT: 0x08 = 64-bit code, 0x10 = data, 0x18 = 32-bit code */
#define CR3RIG_BOOT_PML4_GPA  0x2000u  /* identity map of the first 4 GiB, 2 MiB pages */
#define CR3RIG_BOOT_STACK_TOP 0x80000u /* initial rsp */
#define CR3RIG_GUEST_LOAD_MIN 0x100000u /* ELF64 images load at or above 1 MiB */
/* The BIOS area [0xe0000, 0x100000): the ACPI tables (RSDP first, where a scan of
 * 16-byte boundaries finds it) and a multiboot entry's GDT and stack, out of the way of
 * images linked below 1 MiB (multiboot images may load anywhere outside
 * [0xa0000, 0x100000)). The multiboot memory map reports the area reserved. */
#define CR3RIG_BIOS_AREA_GPA      0xe0000u
#define CR3RIG_ACPI_TABLES_GPA    0xe0000u  /* up to CR3RIG_ACPI_TABLES_END */
#define CR3RIG_ACPI_TABLES_END    0xe2000u
#define CR3RIG_MB_BOOT_GDT_GPA    0xf0000u  /* the same GDT as CR3RIG_BOOT_GDT_GPA */
#define CR3RIG_MB_BOOT_STACK_TOP  0xf0000u  /* grows down, below the GDT */

#define CR3RIG_GDT_CODE64 0x08u
#define CR3RIG_GDT_DATA   0x10u
#define CR3RIG_GDT_CODE32 0x18u /* the CS of multiboot guests */

#endif /* CR3RIG_ABI_H */
