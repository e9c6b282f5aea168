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

// Routes ports to devices. Unclaimed ports read as all-ones (as on a PC bus) and
// writes to them are dropped; both are counted, and so are MMIO accesses (there
// are no MMIO devices in user space: any that reach it hit nothing).
class PortBus {
public:
    // Routes each port range the device claims to it (the device is borrowed).
    // Throws std::logic_error, naming both devices and the port, if a range overlaps
    // one already attached; also for an empty range, one past port 0xffff, or an
    // MMIO claim (nothing routes MMIO to devices yet).
    void attach(Device& device);
    Device* find(uint16_t port) const;

    struct Unclaimed {
        uint64_t ports = 0, mmio = 0;
    };
    const Unclaimed& unclaimed() const { return unclaimed_; }
    void set_unclaimed(const Unclaimed& u) { unclaimed_ = u; }
    void count_unclaimed_port() { unclaimed_.ports++; }
    void count_unclaimed_mmio() { unclaimed_.mmio++; }

private:
    struct Range {
        uint16_t base;
        uint16_t len;
        Device* device;
    };
    std::vector<Range> ranges_;
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
