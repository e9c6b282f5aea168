// Software interrupts: int3, int n, into. The checks an `int` makes before it delivers
// through the IDT (the gate within the IDT's limit, of a valid type, present, and
// reachable from the CPL: DPL >= CPL) are made here with the error codes of a
// software interrupt (vector * 8 + 2, EXT clear); the delivery itself (the stack
// switch, the pushes, IF for an interrupt gate) is KVM's event injection with RIP
// already past the instruction, as the CPU pushes it.
#include "vmm/completion/completers.hpp"

namespace cr3rig::complete {

namespace {

constexpr uint8_t kTaskGate = 0x5, kInterruptGate16 = 0x6, kTrapGate16 = 0x7, kInterruptGate = 0xe, kTrapGate = 0xf;

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
