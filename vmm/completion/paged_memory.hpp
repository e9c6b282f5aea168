// GuestLinear on a real guest: linear addresses translated through the guest's page
// tables in its current paging mode (none, 32-bit, PAE, 4- and 5-level), with the
// checks the CPU makes (present, reserved bits, R/W with CR0.WP, U/S, SMEP, SMAP with
// RFLAGS.AC, NX) and the Accessed and Dirty bits it sets, atomically, as other vCPUs
// may walk the same tables. A fault gives the #PF error code the CPU would.
// With CR4.PKE, data accesses to user pages are checked against PKRU as well.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "vmm/completion/cpu_state.hpp"
#include "vmm/completion/guest_linear.hpp"

namespace cr3rig {

class GuestMemory;

class PagedGuestMemory : public GuestLinear {
public:
    // `cpu` is read once: the paging mode, CPL, RFLAGS.AC and MAXPHYADDR of this instruction.
    PagedGuestMemory(GuestMemory& memory, const CpuState& cpu);

    enum class Intent { Read, Write, Execute };
    // The guest-physical address of `linear`, or why not.
    std::variant<uint64_t, PageFault, NotRam, Unmodelled> translate(uint64_t linear, Intent intent,
                                                                    AccessMode mode = AccessMode::Data);

    Access read(uint64_t linear, std::span<uint8_t> out, AccessMode mode = AccessMode::Data) override;
    Access write(uint64_t linear, std::span<const uint8_t> in, AccessMode mode = AccessMode::Data) override;
    Access compare_exchange(uint64_t linear, std::span<uint8_t> expected, std::span<const uint8_t> desired,
                            bool& swapped) override;
    // Instruction bytes at `linear`: as many as can be fetched, up to out.size(); the
    // fault (or NotRam) when not even the first byte can be.
    std::variant<size_t, PageFault, NotRam, Unmodelled> fetch(uint64_t linear, std::span<uint8_t> out);

private:
    struct Piece {
        uint64_t gpa;
        size_t len;
    };
    // Every page of [linear, linear + len) translated, before any byte is touched.
    Access pieces(uint64_t linear, size_t len, Intent intent, AccessMode mode, std::vector<Piece>& out);

    GuestMemory& memory_;
    uint64_t cr0_, cr3_, cr4_, efer_;
    unsigned cpl_;
    bool ac_;
    unsigned maxphyaddr_;
    uint32_t pkru_;
    bool page1gb_;
};

}  // namespace cr3rig
