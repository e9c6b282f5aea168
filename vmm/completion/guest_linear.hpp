// Guest memory as an instruction sees it: linear addresses, translated through the
// guest's paging mode with the permission checks and Accessed/Dirty updates the CPU
// makes, or a #PF with the error code the CPU would give. Completers only see this
// interface; tests give them a flat fake.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>

namespace cr3rig {

// The #PF an access raises: CR2 and the error code (P, W/R, U/S, RSVD, I/D bits).
struct PageFault {
    uint64_t address;
    uint32_t error_code;
};

// An access cr3rig cannot make exactly (the address is not RAM: MMIO or nothing):
// the completion is not done.
struct NotRam {
    uint64_t address;
};

// A translation cr3rig does not model exactly (e.g. protection keys): not done.
struct Unmodelled {
    const char* why;
};

struct AccessOk {};
using Access = std::variant<AccessOk, PageFault, NotRam, Unmodelled>;

// How an access is checked: a data access at the current privilege level, or one the
// CPU makes as supervisor whatever the CPL (the IDT, descriptor tables).
enum class AccessMode { Data, ImplicitSupervisor };

class GuestLinear {
public:
    virtual ~GuestLinear() = default;
    // All of [linear, linear + out.size()) or nothing: a fault on any byte leaves
    // memory as it was.
    virtual Access read(uint64_t linear, std::span<uint8_t> out, AccessMode mode = AccessMode::Data) = 0;
    virtual Access write(uint64_t linear, std::span<const uint8_t> in, AccessMode mode = AccessMode::Data) = 0;
    // Atomically (against the other vCPUs): if the 8 or 16 naturally aligned bytes at
    // `linear` equal `expected`, store `desired` and set `swapped`; otherwise copy the
    // bytes into `expected`. Checked as a write either way (the CPU always writes).
    virtual Access compare_exchange(uint64_t linear, std::span<uint8_t> expected, std::span<const uint8_t> desired,
                                    bool& swapped) = 0;
};

}  // namespace cr3rig
