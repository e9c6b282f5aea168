#include "vmm/register_dump.hpp"

#include <cstdio>

#include "vmm/boot_image.hpp"

namespace cr3rig {

std::string format_registers(const kvm_regs& r, const kvm_sregs& s, const BootImage* symbols)
{
    char buf[1024];
    std::string where;
    if (symbols)
        if (auto name = symbols->symbolize(r.rip))
            where = " <" + *name + ">";
    std::snprintf(buf, sizeof buf,
                  "RIP: %04x:%016llx%s\n"
                  "RSP: %04x:%016llx EFLAGS: %08llx\n"
                  "RAX: %016llx RBX: %016llx RCX: %016llx\n"
                  "RDX: %016llx RSI: %016llx RDI: %016llx\n"
                  "RBP: %016llx R08: %016llx R09: %016llx\n"
                  "R10: %016llx R11: %016llx R12: %016llx\n"
                  "R13: %016llx R14: %016llx R15: %016llx\n"
                  "CR0: %016llx CR2: %016llx CR3: %016llx\n"
                  "CR4: %016llx EFER: %016llx\n"
                  "GDT: %016llx/%04x IDT: %016llx/%04x",
                  s.cs.selector, static_cast<unsigned long long>(r.rip), where.c_str(), s.ss.selector,
                  static_cast<unsigned long long>(r.rsp), static_cast<unsigned long long>(r.rflags),
                  static_cast<unsigned long long>(r.rax), static_cast<unsigned long long>(r.rbx),
                  static_cast<unsigned long long>(r.rcx), static_cast<unsigned long long>(r.rdx),
                  static_cast<unsigned long long>(r.rsi), static_cast<unsigned long long>(r.rdi),
                  static_cast<unsigned long long>(r.rbp), static_cast<unsigned long long>(r.r8),
                  static_cast<unsigned long long>(r.r9), static_cast<unsigned long long>(r.r10),
                  static_cast<unsigned long long>(r.r11), static_cast<unsigned long long>(r.r12),
                  static_cast<unsigned long long>(r.r13), static_cast<unsigned long long>(r.r14),
                  static_cast<unsigned long long>(r.r15), static_cast<unsigned long long>(s.cr0),
                  static_cast<unsigned long long>(s.cr2), static_cast<unsigned long long>(s.cr3),
                  static_cast<unsigned long long>(s.cr4), static_cast<unsigned long long>(s.efer),
                  static_cast<unsigned long long>(s.gdt.base), s.gdt.limit,
                  static_cast<unsigned long long>(s.idt.base), s.idt.limit);
    return buf;
}

}  // namespace cr3rig
