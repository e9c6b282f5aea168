// What the trap engine's files share: the debug-register and LAPIC constants, and
// the general registers by the index Cr3Site::reg_index counts them.
#pragma once

#include <linux/kvm.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace cr3rig::trap_detail {

constexpr unsigned kHwSlots = 4;
constexpr uint64_t kDr6SingleStep = 1ull << 14;
constexpr unsigned kLapicLvtTimer = 0x320;
constexpr unsigned kLapicTimerInitialCount = 0x380;
constexpr unsigned kLapicIrr = 0x200;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr auto kHaltPoke = std::chrono::microseconds(1000);
constexpr unsigned kPageFaultVector = 14;
constexpr uint8_t kBreakpointVector = 3;

// kvm_regs holds rax..r15 first, in the order Cr3Site::reg_index counts them.
static_assert(offsetof(kvm_regs, r15) == 15 * sizeof(uint64_t));

inline uint64_t reg_value(const kvm_regs& regs, int index)
{
    uint64_t value = 0;
    if (index >= 0 && index < 16)
        std::memcpy(&value, reinterpret_cast<const char*>(&regs) + index * sizeof(uint64_t), sizeof value);
    return value;
}

inline void set_reg_value(kvm_regs& regs, int index, uint64_t value)
{
    if (index >= 0 && index < 16)
        std::memcpy(reinterpret_cast<char*>(&regs) + index * sizeof(uint64_t), &value, sizeof value);
}

}  // namespace cr3rig::trap_detail
