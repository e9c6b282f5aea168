// Finds CR3 sites with Capstone: a linear sweep over executable code with full
// operand details, so any register (r8-r15 included) and any encoding is named.
#include <capstone/capstone.h>

#include <memory>
#include <stdexcept>

#include "traps/cr3_site.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig {

const char* name_of(SiteKind kind)
{
    switch (kind) {
    case SiteKind::Cr3Read: return "cr3-read";
    case SiteKind::Cr3Write: return "cr3-write";
    case SiteKind::Cr4Write: return "cr4-write";
    case SiteKind::Invlpg: return "invlpg";
    case SiteKind::Invpcid: return "invpcid";
    case SiteKind::Lidt: return "lidt";
    }
    return "?";
}

namespace {

// Capstone register id -> index in struct kvm_regs (rax rbx rcx rdx rsi rdi rsp rbp r8..r15).
int kvm_reg_index(x86_reg reg)
{
    switch (reg) {
    case X86_REG_RAX: return 0;
    case X86_REG_RBX: return 1;
    case X86_REG_RCX: return 2;
    case X86_REG_RDX: return 3;
    case X86_REG_RSI: return 4;
    case X86_REG_RDI: return 5;
    case X86_REG_RSP: return 6;
    case X86_REG_RBP: return 7;
    default:
        if (reg >= X86_REG_R8 && reg <= X86_REG_R15)
            return 8 + (reg - X86_REG_R8);
        return -1;
    }
}

struct CapstoneHandle {
    csh handle = 0;
    CapstoneHandle()
    {
        if (cs_open(CS_ARCH_X86, CS_MODE_64, &handle) != CS_ERR_OK)
            throw std::runtime_error("capstone: cs_open failed");
        cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
        cs_option(handle, CS_OPT_SKIPDATA, CS_OPT_ON);  // keep sweeping past bytes that do not decode
    }
    ~CapstoneHandle() { cs_close(&handle); }
};

// The site an instruction is, if it is one.
bool classify(csh handle, const cs_insn& insn, Cr3Site& site)
{
    if (!insn.detail)
        return false;
    const cs_x86& x86 = insn.detail->x86;
    if (insn.id == X86_INS_INVLPG) {
        site.kind = SiteKind::Invlpg;
        return true;
    }
    if (insn.id == X86_INS_INVPCID) {
        site.kind = SiteKind::Invpcid;
        return true;
    }
    if (insn.id == X86_INS_LIDT) {
        site.kind = SiteKind::Lidt;
        return true;
    }
    if (insn.id != X86_INS_MOV || x86.op_count != 2 || x86.operands[0].type != X86_OP_REG ||
        x86.operands[1].type != X86_OP_REG)
        return false;
    x86_reg dst = x86.operands[0].reg, src = x86.operands[1].reg;
    if (src == X86_REG_CR3) {
        site.kind = SiteKind::Cr3Read;
        site.reg = cs_reg_name(handle, dst);
        site.reg_index = kvm_reg_index(dst);
        return true;
    }
    if (dst == X86_REG_CR3 || dst == X86_REG_CR4) {
        site.kind = dst == X86_REG_CR3 ? SiteKind::Cr3Write : SiteKind::Cr4Write;
        site.reg = cs_reg_name(handle, src);
        site.reg_index = kvm_reg_index(src);
        return true;
    }
    return false;
}

}  // namespace

std::vector<Cr3Site> scan_cr3_sites(const uint8_t* code, size_t size, uint64_t address)
{
    CapstoneHandle cs;
    std::vector<Cr3Site> sites;
    cs_insn* insn = cs_malloc(cs.handle);
    std::unique_ptr<cs_insn, void (*)(cs_insn*)> guard(insn, [](cs_insn* i) { cs_free(i, 1); });
    const uint8_t* cursor = code;
    uint64_t pc = address;
    while (size > 0 && cs_disasm_iter(cs.handle, &cursor, &size, &pc, insn)) {
        Cr3Site site{insn->address, SiteKind::Cr3Read, "", -1, {insn->bytes, insn->bytes + insn->size}, ""};
        if (classify(cs.handle, *insn, site))
            sites.push_back(std::move(site));
    }
    return sites;
}

std::vector<Cr3Site> scan_cr3_sites(const ElfImage& image)
{
    std::vector<Cr3Site> sites;
    for (const auto& segment : image.segments()) {
        if (!segment.executable || segment.filesz == 0)
            continue;
        auto bytes = image.segment_bytes(segment);
        for (auto& site : scan_cr3_sites(bytes.data(), bytes.size(), segment.vaddr)) {
            site.symbol = image.symbolize(site.address).value_or("");
            sites.push_back(std::move(site));
        }
    }
    return sites;
}

}  // namespace cr3rig
