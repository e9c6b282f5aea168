// One guest instruction, decoded by Capstone in the mode of the guest's code segment,
// reduced to what completers need: its identity, length, prefixes and operands. The
// few encodings Capstone 4 does not decode but whose architectural result is certain
// (rdpru; movbe with a register operand and `into` in 64-bit mode, both #UD) are
// recognised by their bytes.
#pragma once

#include <capstone/capstone.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmm/completion/cpu_state.hpp"

namespace cr3rig {

enum class CodeSize { Bits16 = 16, Bits32 = 32, Bits64 = 64 };

// The code size of the guest's current code segment (CS.L, CS.D, real mode).
CodeSize code_size(const CpuState& cpu);

struct MemoryOperand {
    x86_reg segment = X86_REG_INVALID;  // an override, or INVALID for the default
    x86_reg base = X86_REG_INVALID;     // X86_REG_RIP for RIP-relative
    x86_reg index = X86_REG_INVALID;
    int scale = 1;
    int64_t disp = 0;
};

struct Operand {
    enum class Kind { Register, Memory, Immediate } kind = Kind::Register;
    unsigned size = 0;  // bytes
    x86_reg reg = X86_REG_INVALID;
    MemoryOperand mem;
    int64_t imm = 0;
};

struct Instruction {
    unsigned id = X86_INS_INVALID;  // x86_insn, or one of the byte-recognised ids below
    std::string mnemonic;           // "movbe eax, dword ptr [rbx]"
    std::vector<uint8_t> bytes;     // exactly the instruction's
    CodeSize mode = CodeSize::Bits64;
    unsigned address_size = 8;      // bytes: 8, 4 or 2 (the 0x67 prefix)
    bool rex_w = false;
    bool lock = false;
    std::vector<Operand> operands;

    unsigned length() const { return static_cast<unsigned>(bytes.size()); }
};

// Ids for what Capstone 4 cannot decode, past Capstone's own.
inline constexpr unsigned kInsRdpru = X86_INS_ENDING + 1;
inline constexpr unsigned kInsUndefined = X86_INS_ENDING + 2;  // an encoding that raises #UD here

// Decodes the first instruction of `code` (up to 15 bytes). nullopt when neither
// Capstone nor the byte patterns know it.
std::optional<Instruction> decode_instruction(std::span<const uint8_t> code, CodeSize mode);

// "0f 38 f0 c0"
std::string format_bytes(std::span<const uint8_t> bytes);

// General-purpose registers by Capstone id, any width (AL, AH, AX, EAX, RAX, R8D...).
// Reads zero-extend; writes follow the CPU: a 32-bit write zero-extends to 64 bits,
// 8- and 16-bit writes keep the other bits. Returns false for a register that is not
// a general-purpose one (the completer then does not complete).
bool read_register(const kvm_regs& regs, x86_reg reg, uint64_t& value);
bool write_register(kvm_regs& regs, x86_reg reg, uint64_t value);

// Where a memory operand points: the linear address (segment base added), or the
// exception a bad address raises (#GP(0), or #SS(0) for a stack-segment access):
// a non-canonical address in 64-bit mode, past the segment limit elsewhere. Reading a
// register the operand names cannot fail for Capstone's operands.
struct LinearAddress {
    std::optional<uint64_t> address;
    uint8_t fault_vector = vector::kGP;
    bool modelled = true;  // false: an expand-down segment, which cr3rig does not model
};
LinearAddress linear_address(const CpuState& cpu, const Instruction& insn, const MemoryOperand& mem,
                             unsigned access_size);

}  // namespace cr3rig
