// movbe, cmpxchg8b/16b, popcnt: instructions that compute on registers and memory,
// with the flags the Intel SDM gives them. Memory goes through GuestLinear, so a #PF
// is the one the guest's page tables make, and a write that faults changes nothing.
#include <algorithm>
#include <bit>

#include "vmm/completion/completers.hpp"
#include "vmm/completion/operand_access.hpp"

namespace cr3rig::complete {

namespace {

// At CPL3 with CR0.AM and RFLAGS.AC set, a data access not aligned on its size raises
// #AC(0); whether that comes before or after a #PF of the same access the SDM does not
// say, so such an access is not completed.
std::optional<Outcome> unmodelled_alignment_check(const CpuState& cpu, uint64_t linear, unsigned size)
{
    if (alignment_checked(cpu) && linear % size != 0)
        return NotExact{"a misaligned access with alignment checking on (#AC against #PF) is not modelled"};
    return std::nullopt;
}

bool is_gpr_size(unsigned size) { return size == 2 || size == 4 || size == 8; }

}  // namespace

// movbe reg, mem (0F 38 F0) loads the bytes reversed; movbe mem, reg (0F 38 F1)
// stores them reversed. Flags are unaffected.
Outcome movbe(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    // The SDM's #UD: no MOVBE in CPUID, a LOCK prefix, or a REP (F3) prefix.
    if (!guest_has(cpu, "movbe") || lock_prefixed(insn) || has_legacy_prefix(insn, 0xf3))
        return undefined_opcode();
    if (insn.operands.size() != 2)
        return NotExact{"a movbe without its two operands"};
    bool load = insn.operands[0].kind == Operand::Kind::Register;
    const Operand& reg = insn.operands[load ? 0 : 1];
    const Operand& mem = insn.operands[load ? 1 : 0];
    uint64_t value = 0;
    if (reg.kind != Operand::Kind::Register || !is_gpr_size(reg.size) || !read_register(cpu.regs, reg.reg, value))
        return NotExact{"a movbe whose register operand is not a 16-, 32- or 64-bit general-purpose register"};
    uint64_t linear = 0;
    if (auto stop = memory_operand_address(cpu, insn, mem, reg.size, linear))
        return *stop;
    if (auto stop = unmodelled_alignment_check(cpu, linear, reg.size))
        return *stop;
    uint8_t bytes[8] = {};
    std::span<uint8_t> data(bytes, reg.size);
    if (load) {
        if (auto failed = access_outcome(ctx.memory.read(linear, data)))
            return *failed;
        std::reverse(data.begin(), data.end());
        write_register(cpu.regs, reg.reg, little_endian(data));  // 32 bits zero-extend, 16 keep the rest
    } else {
        store_little_endian(data, value);
        std::reverse(data.begin(), data.end());
        if (auto failed = access_outcome(ctx.memory.write(linear, data)))
            return *failed;
    }
    advance_rip(cpu, insn);
    return Retired{};
}

// cmpxchg8b m64 compares EDX:EAX with the memory: equal, ZF=1 and ECX:EBX is stored;
// else ZF=0 and the memory is loaded into EDX:EAX. cmpxchg16b likewise with RDX:RAX,
// RCX:RBX on a 16-byte-aligned operand. No other flag changes.
Outcome cmpxchg8b_16b(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    bool wide = insn.id == X86_INS_CMPXCHG16B;
    if (!guest_has(cpu, wide ? "cx16" : "cx8"))
        return undefined_opcode();
    if (insn.operands.size() != 1 || insn.operands[0].kind != Operand::Kind::Memory)
        return undefined_opcode();  // the SDM: #UD if the destination is not a memory location
    unsigned half = wide ? 8 : 4, size = 2 * half;
    uint64_t linear = 0;
    if (auto stop = memory_operand_address(cpu, insn, insn.operands[0], size, linear))
        return *stop;
    if (linear % size != 0) {
        if (wide)
            return general_protection();
        return NotExact{"a cmpxchg8b not aligned on 8 bytes (a split lock) cannot be made atomic here"};
    }
    x86_reg lo_compare = wide ? X86_REG_RAX : X86_REG_EAX, hi_compare = wide ? X86_REG_RDX : X86_REG_EDX;
    x86_reg lo_new = wide ? X86_REG_RBX : X86_REG_EBX, hi_new = wide ? X86_REG_RCX : X86_REG_ECX;
    uint64_t a = 0, d = 0, b = 0, c = 0;
    read_register(cpu.regs, lo_compare, a);
    read_register(cpu.regs, hi_compare, d);
    read_register(cpu.regs, lo_new, b);
    read_register(cpu.regs, hi_new, c);
    uint8_t expected[16] = {}, desired[16] = {};
    store_little_endian(std::span(expected, half), a);
    store_little_endian(std::span(expected + half, half), d);
    store_little_endian(std::span(desired, half), b);
    store_little_endian(std::span(desired + half, half), c);
    bool swapped = false;
    Access access = ctx.memory.compare_exchange(linear, std::span(expected, size), std::span(desired, size), swapped);
    if (auto failed = access_outcome(access))
        return *failed;
    if (swapped) {
        cpu.regs.rflags |= rflags::kZF;
    } else {
        cpu.regs.rflags &= ~rflags::kZF;
        write_register(cpu.regs, lo_compare, little_endian(std::span(expected, half)));
        write_register(cpu.regs, hi_compare, little_endian(std::span(expected + half, half)));
    }
    advance_rip(cpu, insn);
    return Retired{};
}

// popcnt reg, reg/mem: the number of set bits; ZF = (source == 0), CF OF SF AF PF
// cleared.
Outcome popcnt(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    if (!guest_has(cpu, "popcnt") || lock_prefixed(insn))
        return undefined_opcode();
    if (insn.operands.size() != 2)
        return NotExact{"a popcnt without its two operands"};
    const Operand& dst = insn.operands[0];
    const Operand& src = insn.operands[1];
    uint64_t value = 0;
    if (dst.kind != Operand::Kind::Register || !is_gpr_size(dst.size) || !read_register(cpu.regs, dst.reg, value))
        return NotExact{"a popcnt whose destination is not a 16-, 32- or 64-bit general-purpose register"};
    if (src.kind == Operand::Kind::Register) {
        if (!read_register(cpu.regs, src.reg, value))
            return NotExact{"a popcnt whose source is not a general-purpose register"};
    } else {
        uint64_t linear = 0;
        if (auto stop = memory_operand_address(cpu, insn, src, dst.size, linear))
            return *stop;
        if (auto stop = unmodelled_alignment_check(cpu, linear, dst.size))
            return *stop;
        uint8_t bytes[8] = {};
        std::span<uint8_t> data(bytes, dst.size);
        if (auto failed = access_outcome(ctx.memory.read(linear, data)))
            return *failed;
        value = little_endian(data);
    }
    write_register(cpu.regs, dst.reg, static_cast<uint64_t>(std::popcount(value)));
    cpu.regs.rflags &= ~rflags::kArithmetic;
    if (value == 0)
        cpu.regs.rflags |= rflags::kZF;
    advance_rip(cpu, insn);
    return Retired{};
}

}  // namespace cr3rig::complete
