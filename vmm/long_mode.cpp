#include "long_mode.hpp"

#include <linux/kvm.h>

#include "cr3rig/abi.h"
#include "guest_memory.hpp"
#include "kvm.hpp"

namespace cr3rig {

namespace {

constexpr uint64_t kCr0Pe = 1u << 0, kCr0Mp = 1u << 1, kCr0Et = 1u << 4, kCr0Ne = 1u << 5, kCr0Wp = 1u << 16,
                   kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1u << 5, kCr4Osfxsr = 1u << 9, kCr4Osxmmexcpt = 1u << 10;
constexpr uint64_t kEferLme = 1u << 8, kEferLma = 1u << 10;
constexpr uint64_t kPtePresent = 1u << 0, kPteWrite = 1u << 1, kPteHuge = 1u << 7;

// GDT descriptors: 64-bit code (L=1) and flat data, both DPL 0.
constexpr uint64_t kGdtCode64 = 0x00af9a000000ffffull;
constexpr uint64_t kGdtData = 0x00cf92000000ffffull;

void write_gdt(GuestMemory& memory)
{
    memory.write<uint64_t>(CR3RIG_BOOT_GDT_GPA + 0, 0);
    memory.write<uint64_t>(CR3RIG_BOOT_GDT_GPA + CR3RIG_GDT_CODE64, kGdtCode64);
    memory.write<uint64_t>(CR3RIG_BOOT_GDT_GPA + CR3RIG_GDT_DATA, kGdtData);
}

// PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages: 4 GiB identity map.
void write_page_tables(GuestMemory& memory)
{
    const uint64_t pml4 = CR3RIG_BOOT_PML4_GPA, pdpt = pml4 + 0x1000, pd = pml4 + 0x2000;
    memory.write<uint64_t>(pml4, pdpt | kPtePresent | kPteWrite);
    for (uint64_t i = 0; i < 4; i++)
        memory.write<uint64_t>(pdpt + i * 8, (pd + i * 0x1000) | kPtePresent | kPteWrite);
    for (uint64_t i = 0; i < 4 * 512; i++)
        memory.write<uint64_t>(pd + i * 8, (i << 21) | kPtePresent | kPteWrite | kPteHuge);
}

kvm_segment flat_segment(uint16_t selector, bool code)
{
    kvm_segment s{};
    s.base = 0;
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = code ? 0xb : 0x3;  // execute/read accessed : read/write accessed
    s.present = 1;
    s.dpl = 0;
    s.db = code ? 0 : 1;
    s.s = 1;
    s.l = code ? 1 : 0;
    s.g = 1;
    return s;
}

}  // namespace

void enter_long_mode(GuestMemory& memory, Vcpu& vcpu, uint64_t entry)
{
    write_gdt(memory);
    write_page_tables(memory);

    kvm_sregs sregs = vcpu.get_sregs();
    sregs.gdt.base = CR3RIG_BOOT_GDT_GPA;
    sregs.gdt.limit = 3 * 8 - 1;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    sregs.cs = flat_segment(CR3RIG_GDT_CODE64, true);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(CR3RIG_GDT_DATA, false);
    sregs.cr3 = CR3RIG_BOOT_PML4_GPA;
    sregs.cr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
    sregs.cr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Pg;
    sregs.efer = kEferLme | kEferLma;
    vcpu.set_sregs(sregs);

    kvm_regs regs{};
    regs.rip = entry;
    regs.rsp = CR3RIG_BOOT_STACK_TOP;
    regs.rflags = 0x2;  // bit 1 is reserved-as-one; IF = 0
    vcpu.set_regs(regs);
}

}  // namespace cr3rig
