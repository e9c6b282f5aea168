// Software interrupts: int3, int n, into. The checks an `int` makes before it delivers
// through the IDT (the gate within the IDT's limit, of a valid type, present, and
// reachable from the CPL: DPL >= CPL) are made here with the error codes of a
// software interrupt (vector * 8 + 2, EXT clear), and so are those on the gate's code
// segment (a selector, a code segment of DPL <= CPL, present, 64-bit in long mode);
// the delivery itself (the stack switch, the pushes, IF for an interrupt gate) is
// KVM's event injection with RIP already past the instruction, as the CPU pushes it.
#include "vmm/completion/completers.hpp"

namespace cr3rig::complete {

namespace {

constexpr uint8_t kTaskGate = 0x5, kInterruptGate16 = 0x6, kTrapGate16 = 0x7, kInterruptGate = 0xe, kTrapGate = 0xf;

// The gate's target code segment: the checks the CPU makes on it before it pushes
// anything (the backend's own delivery may not make them). nullopt: it may be entered.
std::optional<Outcome> check_target_segment(CompletionContext& ctx, uint16_t selector, bool long_mode)
{
    const CpuState& cpu = ctx.cpu;
    uint32_t error = selector & 0xfffc;  // EXT clear: a software interrupt
    if ((selector & 0xfffc) == 0)
        return general_protection(0);
    bool in_ldt = selector & 4;
    uint64_t base = in_ldt ? cpu.sregs.ldt.base : cpu.sregs.gdt.base;
    uint64_t limit = in_ldt ? cpu.sregs.ldt.limit : cpu.sregs.gdt.limit;  // the LDT's is 32 bits
    if (in_ldt && cpu.sregs.ldt.unusable)
        return general_protection(error);
    uint64_t offset = selector & 0xfff8;
    if (offset + 7 > limit)
        return general_protection(error);
    uint8_t descriptor[8];
    if (auto failed = access_outcome(ctx.memory.read(base + offset, descriptor, AccessMode::ImplicitSupervisor)))
        return *failed;
    uint8_t access = descriptor[5], flags = descriptor[6];
    bool code = (access & 0x18) == 0x18;  // S = 1 and executable
    unsigned dpl = (access >> 5) & 3;
    if (!code || dpl > current_privilege(cpu))
        return general_protection(error);
    if (long_mode && ((flags & 0x20) == 0 || (flags & 0x40) != 0))  // must be a 64-bit segment: L = 1, D = 0
        return general_protection(error);
    if (!(access & 0x80))
        return RaiseException{vector::kNP, error, std::nullopt};
    return std::nullopt;
}

Outcome deliver(CompletionContext& ctx, const Instruction& insn, uint8_t vec)
{
    CpuState& cpu = ctx.cpu;
    uint32_t gate_error = uint32_t{vec} * 8 + 2;  // IDT bit set, EXT clear
    if (!(cpu.sregs.cr0 & cr0::kPE)) {           // real mode: the IVT, no checks to make
        advance_rip(cpu, insn);
        return SoftwareInterrupt{vec};
    }
    if (cpu.regs.rflags & rflags::kVM)
        return NotExact{"a software interrupt in virtual-8086 mode is not modelled"};
    bool long_mode = cpu.sregs.efer & efer::kLMA;
    unsigned entry_size = long_mode ? 16 : 8;
    if (uint64_t{vec} * entry_size + entry_size - 1 > cpu.sregs.idt.limit)
        return general_protection(gate_error);
    uint8_t gate[16] = {};
    Access read = ctx.memory.read(cpu.sregs.idt.base + uint64_t{vec} * entry_size, std::span(gate, entry_size),
                                  AccessMode::ImplicitSupervisor);
    if (auto failed = access_outcome(read))
        return *failed;
    uint8_t type = gate[5] & 0x1f, dpl = (gate[5] >> 5) & 3;
    bool present = gate[5] & 0x80;
    bool valid = long_mode ? (type == kInterruptGate || type == kTrapGate)
                           : (type == kTaskGate || type == kInterruptGate16 || type == kTrapGate16 ||
                              type == kInterruptGate || type == kTrapGate);
    if (!valid || current_privilege(cpu) > dpl)
        return general_protection(gate_error);
    if (!present)
        return RaiseException{vector::kNP, gate_error, std::nullopt};
    if (type == kTaskGate)
        return NotExact{"delivery through a task gate is not modelled"};
    if (auto refused = check_target_segment(ctx, static_cast<uint16_t>(gate[2] | gate[3] << 8), long_mode))
        return *refused;
    advance_rip(cpu, insn);
    return SoftwareInterrupt{vec};
}

}  // namespace

Outcome int3(CompletionContext& ctx, const Instruction& insn) { return deliver(ctx, insn, vector::kBP); }

Outcome int_n(CompletionContext& ctx, const Instruction& insn)
{
    if (insn.operands.size() != 1 || insn.operands[0].kind != Operand::Kind::Immediate)
        return NotExact{"an int without its vector"};
    return deliver(ctx, insn, static_cast<uint8_t>(insn.operands[0].imm));
}

Outcome into(CompletionContext& ctx, const Instruction& insn)
{
    if (!(ctx.cpu.regs.rflags & rflags::kOF)) {  // no overflow: a no-op
        advance_rip(ctx.cpu, insn);
        return Retired{};
    }
    return deliver(ctx, insn, vector::kOF);
}

Outcome undefined(CompletionContext&, const Instruction&) { return undefined_opcode(); }

}  // namespace cr3rig::complete
