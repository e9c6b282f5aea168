// What the run loop does with each exit. dispatch() is a pure function of the exit,
// the devices it reaches through PortBus and whether the deadline has passed, so it
// is unit-tested on synthetic exits without KVM (Firecracker-style).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/verdict.hpp"
#include "vmm/vm_exit.hpp"

namespace cr3rig {

// A request to end the run, as a device or a hook reports it: the kind of ending and a
// one-line reason. The runner composes the run's Verdict from it and the hooks'
// findings (compose_verdict); nothing else writes a verdict.
struct Stop {
    VerdictKind kind;
    std::string reason;
    std::optional<uint32_t> guest_status;  // the value the guest wrote to the debug-exit port
};

// nullopt: resume the vCPU.
using ExitAction = std::optional<Stop>;

class Device;  // vmm/devices/device.hpp

// One access nobody claimed: a port or a guest-physical address, its direction, size.
struct UnclaimedAccess {
    bool mmio = false;
    bool write = false;  // out / MMIO write
    uint64_t address = 0;
    uint8_t size = 0;
    bool operator==(const UnclaimedAccess&) const = default;
};

// The unclaimed accesses of a run: how many, and the first few distinct ones, so that a
// device the guest expects and the rig lacks is named, never a silent pass.
struct Unclaimed {
    static constexpr size_t kRemembered = 8;
    uint64_t ports = 0, mmio = 0;
    std::vector<UnclaimedAccess> first;  // distinct, in order of first occurrence

    void note(const UnclaimedAccess& access);
    uint64_t total() const { return ports + mmio; }
};

// "in 0xe0 (4 bytes), read 0xff000000 (4 bytes) and 1301 more (no device claims them;
// they read all-ones)", empty when there were none.
std::string describe_unclaimed(const Unclaimed& unclaimed);

// Routes ports and guest-physical MMIO ranges to devices. Unclaimed ports and
// addresses read as all-ones (as on a PC bus) and writes to them are dropped; they are
// counted and the first few remembered (Unclaimed).
class PortBus {
public:
    // Routes each port and MMIO range the device claims to it (the device is
    // borrowed). Throws std::logic_error, naming both devices and the port or address,
    // if a range overlaps one already attached; also for an empty range, or one past
    // port 0xffff or past the end of the address space.
    void attach(Device& device);
    Device* find(uint16_t port) const;
    Device* find_mmio(uint64_t gpa) const;

    using Unclaimed = cr3rig::Unclaimed;
    const Unclaimed& unclaimed() const { return unclaimed_; }
    void set_unclaimed(const Unclaimed& u) { unclaimed_ = u; }
    void note_unclaimed(const UnclaimedAccess& access) { unclaimed_.note(access); }

private:
    struct Range {
        uint16_t base;
        uint16_t len;
        Device* device;
    };
    struct MmioSpan {
        uint64_t base;
        uint64_t len;
        Device* device;
    };
    std::vector<Range> ranges_;
    std::vector<MmioSpan> mmio_;
    Unclaimed unclaimed_;
};

ExitAction dispatch(const VmExit& exit, PortBus& bus, bool deadline_passed);

// Per-exit-reason counters (and per-port counts for port I/O), printed by --stats.
class ExitStats {
public:
    void count(const VmExit& exit);
    uint64_t of(ExitKind kind) const { return by_kind_[static_cast<size_t>(kind)]; }
    uint64_t total() const;
    std::string format() const;

private:
    std::array<uint64_t, kExitKindCount> by_kind_{};
    std::map<uint16_t, uint64_t> by_port_;
};

}  // namespace cr3rig
