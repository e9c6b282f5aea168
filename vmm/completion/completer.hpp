// Instruction completion: when the backend reports that it could not emulate a guest
// instruction (KVM_EXIT_INTERNAL_ERROR, emulation failure), cr3rig performs it, if the
// result can be made exact, from the decoded instruction and the vCPU state. One
// completer per instruction (or family), each a pure function of the state, guest
// memory (through GuestLinear) and the instruction: unit-tested on synthetic state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "vmm/completion/cpu_state.hpp"
#include "vmm/completion/guest_linear.hpp"
#include "vmm/completion/instruction.hpp"

namespace cr3rig {

// The instruction retired: the state (RIP past it, registers, flags) and memory are as
// it leaves them.
struct Retired {};

// The instruction raised an exception (a fault: RIP stays at it). cr2 only for #PF.
struct RaiseException {
    uint8_t vector;
    std::optional<uint32_t> error_code;
    std::optional<uint64_t> cr2;
};

// A software interrupt (int3, int n, into) that passed its IDT checks: RIP is past the
// instruction and the event is delivered through the IDT gate for `vector`.
struct SoftwareInterrupt {
    uint8_t vector;
};

// The result cannot be made exact here: the run stops with a crash naming the
// instruction, its bytes and this reason.
struct NotExact {
    std::string why;
};

using Outcome = std::variant<Retired, RaiseException, SoftwareInterrupt, NotExact>;

// Effects beyond the registers and memory that the KVM side carries out.
struct SideEffects {
    bool xsave_changed = false;  // cpu.xsave goes back through KVM_SET_XSAVE
    bool flush_tlb = false;      // every guest translation is dropped (invpcid)
};

struct CompletionContext {
    CpuState& cpu;
    GuestLinear& memory;
    SideEffects effects;
};

using CompleteFn = Outcome (*)(CompletionContext& ctx, const Instruction& insn);

struct Completer {
    unsigned id;          // x86_insn (or kInsRdpru, kInsUndefined)
    const char* name;     // "int3", "movbe": what --stats and the log call it
    bool needs_xsave;     // the KVM side loads cpu.xsave first
    CompleteFn complete;
};

// The completer for a decoded instruction, or nullptr.
const Completer* completer_for(const Instruction& insn);
// Every completer, in the table's order (doctor, docs).
std::span<const Completer> all_completers();

// Helpers shared by completers.
inline RaiseException undefined_opcode() { return {vector::kUD, std::nullopt, std::nullopt}; }
inline RaiseException general_protection(uint32_t error_code = 0) { return {vector::kGP, error_code, std::nullopt}; }
// The exception an access result stands for, or nullopt when it succeeded. NotRam
// becomes NotExact through access_outcome.
std::optional<Outcome> access_outcome(const Access& access);
// RIP moved past the instruction (wrapping at the code size).
void advance_rip(CpuState& cpu, const Instruction& insn);

}  // namespace cr3rig
