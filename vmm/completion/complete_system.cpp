// clac/stac, xgetbv, rdpru, the cache write-backs, fwait/fnclex, invpcid: system
// instructions whose architectural effect on a VMM is a flag, a register, a check, or
// a TLB flush that the KVM side carries out.
#include "vmm/completion/completers.hpp"
#include "vmm/completion/operand_access.hpp"

namespace cr3rig::complete {

namespace {

bool canonical(uint64_t address, bool la57)
{
    int bits = la57 ? 57 : 48;
    int64_t sign_extended = static_cast<int64_t>(address << (64 - bits)) >> (64 - bits);
    return static_cast<uint64_t>(sign_extended) == address;
}

// CPUID Fn8000_0008_EBX[4] (AMD APM): cpu_model's table does not name it.
bool guest_has_rdpru(const CpuState& cpu)
{
    for (const auto& e : cpu.cpuid)
        if (e.function == 0x80000008)
            return (e.ebx >> 4) & 1;
    return false;
}

// The x87 status word in the XSAVE image: FSW at byte 2 of the legacy area, or 0 when
// XSTATE_BV[0] says the x87 state is in its initial configuration.
constexpr size_t kFswOffset = 2, kXstateBvOffset = 512;
constexpr uint16_t kFswExceptionSummary = 1u << 7;
constexpr uint16_t kFswClearedByFnclex = 0x80ff;  // PE UE OE ZE DE IE SF ES (bits 0-7) and B (bit 15)

uint16_t x87_status(const XsaveImage& image)
{
    if (!(image.bytes[kXstateBvOffset] & 1))
        return 0;
    return static_cast<uint16_t>(image.bytes[kFswOffset] | image.bytes[kFswOffset + 1] << 8);
}

}  // namespace

// clac clears RFLAGS.AC, stac sets it; CPL0 only, with SMAP in CPUID.
Outcome clac_stac(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    if (!guest_has(cpu, "smap") || lock_prefixed(insn) || current_privilege(cpu) > 0)
        return undefined_opcode();
    if (insn.id == X86_INS_STAC)
        cpu.regs.rflags |= rflags::kAC;
    else
        cpu.regs.rflags &= ~rflags::kAC;
    advance_rip(cpu, insn);
    return Retired{};
}

// xgetbv: EDX:EAX = XCR[ECX]. XCR0 is known; XCR1 (XINUSE) is not observable here.
Outcome xgetbv(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    if (!guest_has(cpu, "xsave") || !(cpu.sregs.cr4 & cr4::kOSXSAVE) || lock_prefixed(insn))
        return undefined_opcode();
    uint32_t index = static_cast<uint32_t>(cpu.regs.rcx);  // the high half of RCX is ignored
    if (index == 1 && guest_has(cpu, "xgetbv1"))
        return NotExact{"xgetbv with ECX=1 reads XINUSE, which cr3rig cannot observe"};
    if (index != 0)
        return general_protection();
    write_register(cpu.regs, X86_REG_EAX, cpu.xcr0 & 0xffffffff);
    write_register(cpu.regs, X86_REG_EDX, cpu.xcr0 >> 32);
    advance_rip(cpu, insn);
    return Retired{};
}

// rdpru (AMD): without it in CPUID, #UD. With it, it reads MPERF or APERF (or 0 for
// an unsupported ECX, under CR4.TSD rules at CPL>0), none of which cr3rig observes.
Outcome rdpru(CompletionContext& ctx, const Instruction& insn)
{
    if (!guest_has_rdpru(ctx.cpu) || lock_prefixed(insn))
        return undefined_opcode();
    return NotExact{"rdpru reads MPERF/APERF, which cr3rig cannot observe"};
}

// clwb, clflushopt, clflush: checked as a 1-byte load at their operand (the SDM), so a
// #PF is raised as the CPU would. Guest memory is coherent on a VMM, so the
// write-back has no further architectural effect; on memory that is not RAM neither.
Outcome cache_line_write_back(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    const char* feature = insn.id == X86_INS_CLWB ? "clwb" : insn.id == X86_INS_CLFLUSHOPT ? "clflushopt" : "clflush";
    if (!guest_has(cpu, feature) || lock_prefixed(insn))
        return undefined_opcode();
    if (insn.operands.size() != 1)
        return NotExact{"a cache write-back without its memory operand"};
    uint64_t linear = 0;
    if (auto stop = memory_operand_address(cpu, insn, insn.operands[0], 1, linear))
        return *stop;
    uint8_t byte = 0;
    Access access = ctx.memory.read(linear, std::span(&byte, 1));
    if (const auto* fault = std::get_if<PageFault>(&access))
        return RaiseException{vector::kPF, fault->error_code, fault->address};
    advance_rip(cpu, insn);
    return Retired{};
}

// fwait: #NM when CR0.MP and CR0.TS; a pending unmasked x87 exception (FSW.ES) is
// #MF with CR0.NE, or the external FERR# path without it (not modelled).
Outcome fwait(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    if (lock_prefixed(insn))
        return undefined_opcode();
    if ((cpu.sregs.cr0 & cr0::kMP) && (cpu.sregs.cr0 & cr0::kTS))
        return RaiseException{vector::kNM, std::nullopt, std::nullopt};
    if (!cpu.xsave)
        return NotExact{"fwait without the x87 state"};
    if (x87_status(*cpu.xsave) & kFswExceptionSummary) {
        if (cpu.sregs.cr0 & cr0::kNE)
            return RaiseException{vector::kMF, std::nullopt, std::nullopt};
        return NotExact{"a pending x87 exception with CR0.NE=0 is reported through FERR#, which is not modelled"};
    }
    advance_rip(cpu, insn);
    return Retired{};
}

// fnclex: #NM when CR0.EM or CR0.TS; clears the exception flags, SF, ES and B of
// the FSW. C0-C3 are undefined after it (the SDM): they are kept.
Outcome fnclex(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    if (lock_prefixed(insn))
        return undefined_opcode();
    if (cpu.sregs.cr0 & (cr0::kEM | cr0::kTS))
        return RaiseException{vector::kNM, std::nullopt, std::nullopt};
    if (!cpu.xsave)
        return NotExact{"fnclex without the x87 state"};
    auto& bytes = cpu.xsave->bytes;
    uint16_t fsw = static_cast<uint16_t>(bytes[kFswOffset] | bytes[kFswOffset + 1] << 8);
    fsw &= static_cast<uint16_t>(~kFswClearedByFnclex);
    bytes[kFswOffset] = static_cast<uint8_t>(fsw);
    bytes[kFswOffset + 1] = static_cast<uint8_t>(fsw >> 8);
    ctx.effects.xsave_changed = true;
    advance_rip(cpu, insn);
    return Retired{};
}

// invpcid type, m128: the checks of the SDM on the type and the descriptor (PCID in
// bits 11:0, bits 63:12 zero, the linear address in 127:64), then every translation
// is dropped: invalidating more than asked is architecturally allowed.
Outcome invpcid(CompletionContext& ctx, const Instruction& insn)
{
    CpuState& cpu = ctx.cpu;
    // Not recognised in virtual-8086 mode (the SDM): #UD there, #GP(0) at CPL>0 elsewhere.
    if (!guest_has(cpu, "invpcid") || lock_prefixed(insn) || (cpu.regs.rflags & rflags::kVM))
        return undefined_opcode();
    if (current_privilege(cpu) > 0)
        return general_protection();
    if (insn.operands.size() != 2 || insn.operands[0].kind != Operand::Kind::Register)
        return NotExact{"an invpcid without its register and memory operands"};
    uint64_t type = 0;
    if (!read_register(cpu.regs, insn.operands[0].reg, type))
        return NotExact{"an invpcid whose type is not in a general-purpose register"};
    uint64_t linear = 0;
    if (auto stop = memory_operand_address(cpu, insn, insn.operands[1], 16, linear))
        return *stop;
    uint8_t descriptor[16] = {};
    Access access = ctx.memory.read(linear, std::span(descriptor, 16));
    if (type > 3) {
        // The SDM does not order #GP for the type against a fault reading the descriptor.
        if (!std::holds_alternative<AccessOk>(access))
            return NotExact{"invpcid with an invalid type and a descriptor it cannot read"};
        return general_protection();
    }
    if (auto failed = access_outcome(access))
        return *failed;
    uint64_t low = little_endian(std::span(descriptor, 8));
    uint64_t address = little_endian(std::span(descriptor + 8, 8));
    uint64_t pcid = low & 0xfff;
    if (low >> 12 != 0)
        return general_protection();
    if (type == 0 && !canonical(address, cpu.sregs.cr4 & cr4::kLA57))
        return general_protection();
    if (type <= 1 && pcid != 0 && !(cpu.sregs.cr4 & cr4::kPCIDE))
        return general_protection();
    ctx.effects.flush_tlb = true;
    advance_rip(cpu, insn);
    return Retired{};
}

}  // namespace cr3rig::complete
