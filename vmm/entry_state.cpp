#include "vmm/entry_state.hpp"

#include <linux/kvm.h>

#include "cr3rig/abi.h"
#include "vmm/guest_memory.hpp"
#include "vmm/kvm.hpp"

namespace cr3rig {

namespace {

constexpr uint64_t kCr0Pe = 1u << 0, kCr0Mp = 1u << 1, kCr0Et = 1u << 4, kCr0Ne = 1u << 5, kCr0Wp = 1u << 16,
                   kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1u << 5, kCr4Osfxsr = 1u << 9, kCr4Osxmmexcpt = 1u << 10;
constexpr uint64_t kEferLme = 1u << 8, kEferLma = 1u << 10;
constexpr uint64_t kPtePresent = 1u << 0, kPteWrite = 1u << 1, kPteHuge = 1u << 7;

// GDT descriptors, all flat and DPL 0: 64-bit code (L=1), data, 32-bit code (D=1).
constexpr uint64_t kGdtCode64 = 0x00af9a000000ffffull;
constexpr uint64_t kGdtData = 0x00cf92000000ffffull;
constexpr uint64_t kGdtCode32 = 0x00cf9a000000ffffull;
constexpr uint16_t kGdtLimit = 4 * 8 - 1;

// Both entry states get the same GDT, so that a guest reloading a segment register
// before its own lgdt finds the descriptor the VMM loaded. ELF64 guests find it at
// CR3RIG_BOOT_GDT_GPA; multiboot images, which may load anywhere below 1 MiB but the
// BIOS area, in that area (CR3RIG_MB_BOOT_GDT_GPA).
void write_gdt(GuestMemory& memory, uint64_t base)
{
    memory.write<uint64_t>(base + 0, 0);
    memory.write<uint64_t>(base + CR3RIG_GDT_CODE64, kGdtCode64);
    memory.write<uint64_t>(base + CR3RIG_GDT_DATA, kGdtData);
    memory.write<uint64_t>(base + CR3RIG_GDT_CODE32, kGdtCode32);
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

enum class Segment { Code64, Code32, Data };

kvm_segment flat_segment(uint16_t selector, Segment kind)
{
    kvm_segment s{};
    s.base = 0;
    s.limit = 0xffffffff;
    s.selector = selector;
    s.type = kind == Segment::Data ? 0x3 : 0xb;  // read/write accessed : execute/read accessed
    s.present = 1;
    s.dpl = 0;
    s.db = kind == Segment::Code64 ? 0 : 1;  // L=1 requires D=0
    s.s = 1;
    s.l = kind == Segment::Code64 ? 1 : 0;
    s.g = 1;
    return s;
}

// The GDT and descriptor tables shared by both entry states; no IDT (interrupts are off).
void load_boot_tables(kvm_sregs& sregs, uint64_t gdt_base)
{
    sregs.gdt.base = gdt_base;
    sregs.gdt.limit = kGdtLimit;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(CR3RIG_GDT_DATA, Segment::Data);
}

}  // namespace

void enter_long_mode(GuestMemory& memory, Vcpu& vcpu, uint64_t entry)
{
    write_gdt(memory, CR3RIG_BOOT_GDT_GPA);
    write_page_tables(memory);

    kvm_sregs sregs = vcpu.get_sregs();
    load_boot_tables(sregs, CR3RIG_BOOT_GDT_GPA);
    sregs.cs = flat_segment(CR3RIG_GDT_CODE64, Segment::Code64);
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

void enter_protected_mode(GuestMemory& memory, Vcpu& vcpu, uint32_t eip, uint32_t eax, uint32_t ebx)
{
    write_gdt(memory, CR3RIG_MB_BOOT_GDT_GPA);

    kvm_sregs sregs = vcpu.get_sregs();
    load_boot_tables(sregs, CR3RIG_MB_BOOT_GDT_GPA);
    sregs.cs = flat_segment(CR3RIG_GDT_CODE32, Segment::Code32);
    sregs.cr0 = kCr0Pe | kCr0Et;  // protected mode, paging off, as after a boot loader
    sregs.cr3 = 0;
    sregs.cr4 = 0;
    sregs.efer = 0;
    vcpu.set_sregs(sregs);

    kvm_regs regs{};
    regs.rip = eip;
    regs.rax = eax;
    regs.rbx = ebx;
    // The spec leaves ESP undefined; a stack in the BIOS area spares a guest that pushes
    // early, wherever the image lies.
    regs.rsp = CR3RIG_MB_BOOT_STACK_TOP;
    regs.rflags = 0x2;  // IF = 0, VM = 0
    vcpu.set_regs(regs);
}

}  // namespace cr3rig
