// The rig port: guest-to-host messages (log lines, assert failures, trace records).
// The guest writes the guest-physical address of a struct cr3rig_msg (cr3rig/abi.h);
// every address and length in it is checked against guest memory before use.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "cr3rig/abi.h"
#include "vmm/devices/device.hpp"

namespace cr3rig {

class GuestMemory;

struct TraceRecord {
    uint32_t event;
    std::array<uint64_t, 4> args;
};

// Its state is its counters; the rate limit's bucket is host time, not kept.
class RigPort : public Device {
public:
    struct Sinks {
        std::function<void(const std::string&)> log;    // guest log lines
        std::function<void(const TraceRecord&)> trace;  // trace records
        std::function<void(const std::string&)> bad;    // malformed messages, one line each
    };
    RigPort(GuestMemory& memory, Sinks sinks) : memory_(memory), sinks_(std::move(sinks)) {}

    std::string_view name() const override { return "rig port"; }
    Claims claims() const override;
    ExitAction io(const IoAccess& access) override;
    std::unique_ptr<DeviceState> save() const override { return save_copy(counters_); }
    void restore(const DeviceState& state) override { counters_ = saved_copy<Counters>(state); }

    // A guest can send messages as fast as it can exit; what reaches the sinks is
    // rate-limited (a burst of kBurst, then kPerSecond per second of host time) and
    // the rest is counted here, never queued.
    static constexpr double kBurst = 1000, kPerSecond = 100;

    uint64_t messages() const { return counters_.messages; }
    uint64_t bad_messages() const { return counters_.bad_messages; }
    uint64_t dropped() const { return counters_.dropped; }
    struct Counters {
        uint64_t messages = 0, bad_messages = 0, dropped = 0;
    };
    const Counters& counters() const { return counters_; }

private:
    ExitAction handle(uint64_t msg_gpa);
    std::string text_of(uint64_t gpa, uint32_t len) const;
    ExitAction assert_failed(const cr3rig_msg& msg);
    void report_bad(const std::string& what);
    bool may_deliver();  // takes a token, or counts a drop

    GuestMemory& memory_;
    Sinks sinks_;
    Counters counters_;
    double tokens_ = kBurst;
    std::chrono::steady_clock::time_point refilled_ = std::chrono::steady_clock::now();
};

}  // namespace cr3rig
