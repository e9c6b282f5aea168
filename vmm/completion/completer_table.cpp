#include <algorithm>
#include <iterator>

#include "common/hex.hpp"
#include "vmm/completion/completer.hpp"
#include "vmm/completion/completers.hpp"

namespace cr3rig {

namespace {

// Every instruction cr3rig completes. A family (cmpxchg8b/16b, the cache write-backs)
// shares one completer under each instruction's own name.
constexpr Completer kCompleters[] = {
    {X86_INS_INT3, "int3", false, complete::int3},
    {X86_INS_INT, "int", false, complete::int_n},
    {X86_INS_INTO, "into", false, complete::into},
    {kInsUndefined, "undefined opcode", false, complete::undefined},
    {X86_INS_MOVBE, "movbe", false, complete::movbe},
    {X86_INS_CMPXCHG8B, "cmpxchg8b", false, complete::cmpxchg8b_16b},
    {X86_INS_CMPXCHG16B, "cmpxchg16b", false, complete::cmpxchg8b_16b},
    {X86_INS_POPCNT, "popcnt", false, complete::popcnt},
    {X86_INS_CLAC, "clac", false, complete::clac_stac},
    {X86_INS_STAC, "stac", false, complete::clac_stac},
    {X86_INS_XGETBV, "xgetbv", false, complete::xgetbv},
    {kInsRdpru, "rdpru", false, complete::rdpru},
    {X86_INS_CLWB, "clwb", false, complete::cache_line_write_back},
    {X86_INS_CLFLUSHOPT, "clflushopt", false, complete::cache_line_write_back},
    {X86_INS_CLFLUSH, "clflush", false, complete::cache_line_write_back},
    {X86_INS_WAIT, "fwait", true, complete::fwait},
    {X86_INS_FNCLEX, "fnclex", true, complete::fnclex},
    {X86_INS_INVPCID, "invpcid", false, complete::invpcid},
    {X86_INS_XSAVE, "xsave", true, complete::xsave},
    {X86_INS_XSAVE64, "xsave64", true, complete::xsave},
    {X86_INS_XRSTOR, "xrstor", true, complete::xrstor},
    {X86_INS_XRSTOR64, "xrstor64", true, complete::xrstor},
    {X86_INS_MOVD, "movd", true, complete::move_vector},
    {X86_INS_MOVQ, "movq", true, complete::move_vector},
    {X86_INS_EMMS, "emms", true, complete::emms},
    {X86_INS_VZEROALL, "vzeroall", true, complete::vzeroall},
    {X86_INS_VZEROUPPER, "vzeroupper", true, complete::vzeroupper},
    {X86_INS_VMOVDQA, "vmovdqa", true, complete::vmovdqa},
    {X86_INS_VMOVDQU, "vmovdqu", true, complete::vmovdqu},
    {X86_INS_VMOVNTDQ, "vmovntdq", true, complete::vmovntdq},
    {X86_INS_VMOVNTDQA, "vmovntdqa", true, complete::vmovntdqa},
};

}  // namespace

const Completer* completer_for(const Instruction& insn)
{
    auto it = std::find_if(std::begin(kCompleters), std::end(kCompleters),
                           [&](const Completer& c) { return c.id == insn.id; });
    return it == std::end(kCompleters) ? nullptr : &*it;
}

std::span<const Completer> all_completers() { return kCompleters; }

std::optional<Outcome> access_outcome(const Access& access)
{
    if (const auto* fault = std::get_if<PageFault>(&access))
        return RaiseException{vector::kPF, fault->error_code, fault->address};
    if (const auto* not_ram = std::get_if<NotRam>(&access))
        return NotExact{"its memory operand reaches guest-physical memory that is not RAM (" +
                        hex(not_ram->address) + ")"};
    if (const auto* unmodelled = std::get_if<Unmodelled>(&access))
        return NotExact{std::string("its memory access goes through ") + unmodelled->why};
    return std::nullopt;
}

void advance_rip(CpuState& cpu, const Instruction& insn)
{
    uint64_t next = cpu.regs.rip + insn.length();
    switch (insn.mode) {
    case CodeSize::Bits16: next &= 0xffff; break;
    case CodeSize::Bits32: next &= 0xffffffff; break;
    case CodeSize::Bits64: break;
    }
    cpu.regs.rip = next;
}

}  // namespace cr3rig
