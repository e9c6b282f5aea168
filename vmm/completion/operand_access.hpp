// What several completers need of an instruction beyond its decoding: its legacy
// prefixes as the CPU sees them, and where its memory operand points.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "vmm/completion/completer.hpp"

namespace cr3rig {

// The legacy prefixes in front of the opcode contain `prefix`. Read from the bytes
// because Capstone keeps one prefix per group (LOCK and REP share a group, so
// "f0 f3 0f b8 ..." is reported as REP alone).
inline bool has_legacy_prefix(const Instruction& insn, uint8_t prefix)
{
    for (uint8_t b : insn.bytes) {
        if (b == prefix)
            return true;
        bool legacy = b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 ||
                      b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65;
        bool rex = insn.mode == CodeSize::Bits64 && (b & 0xf0) == 0x40;
        if (!legacy && !rex)
            return false;
    }
    return false;
}

inline bool lock_prefixed(const Instruction& insn) { return insn.lock || has_legacy_prefix(insn, 0xf0); }

// The linear address of the memory operand `op` for an access of `size` bytes, in
// `linear`; or the outcome that ends the instruction first: #GP(0)/#SS(0) for an
// address outside its segment or non-canonical, NotExact where cr3rig does not model
// the segment.
inline std::optional<Outcome> memory_operand_address(const CpuState& cpu, const Instruction& insn, const Operand& op,
                                                     unsigned size, uint64_t& linear)
{
    if (op.kind != Operand::Kind::Memory)
        return NotExact{"its operand is not in memory"};
    LinearAddress where = linear_address(cpu, insn, op.mem, size);
    if (!where.modelled)
        return NotExact{"its memory operand is in an expand-down segment, which is not modelled"};
    if (!where.address)
        return RaiseException{where.fault_vector, 0, std::nullopt};
    linear = *where.address;
    return std::nullopt;
}

// A value of type T at `at` in a byte buffer (the XSAVE image), and back.
template <typename T>
T load(const uint8_t* at)
{
    T v;
    std::memcpy(&v, at, sizeof v);
    return v;
}

template <typename T>
void store(uint8_t* at, T v)
{
    std::memcpy(at, &v, sizeof v);
}

// Guest memory is little-endian: the value of `bytes` (up to 8), and the reverse.
inline uint64_t little_endian(std::span<const uint8_t> bytes)
{
    uint64_t value = 0;
    for (size_t i = bytes.size(); i-- > 0;)
        value = value << 8 | bytes[i];
    return value;
}
inline void store_little_endian(std::span<uint8_t> bytes, uint64_t value)
{
    for (uint8_t& b : bytes) {
        b = static_cast<uint8_t>(value);
        value >>= 8;
    }
}

}  // namespace cr3rig
