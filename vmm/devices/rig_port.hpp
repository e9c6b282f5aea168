// The rig port: guest-to-host messages (log lines, assert failures, trace records).
// The guest writes the guest-physical address of a struct cr3rig_msg (cr3rig/abi.h);
// every address and length in it is checked against guest memory before use.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "../dispatch.hpp"

namespace cr3rig {

class GuestMemory;

struct TraceRecord {
    uint32_t event;
    std::array<uint64_t, 4> args;
};

class RigPort : public PortDevice {
public:
    struct Sinks {
        std::function<void(const std::string&)> log;    // guest log lines
        std::function<void(const TraceRecord&)> trace;  // trace records
        std::function<void(const std::string&)> bad;    // malformed messages, one line each
    };
    RigPort(GuestMemory& memory, Sinks sinks) : memory_(memory), sinks_(std::move(sinks)) {}

    ExitAction io(const IoAccess& access) override;

    uint64_t messages() const { return messages_; }
    uint64_t bad_messages() const { return bad_messages_; }
    struct Counters {
        uint64_t messages, bad_messages;
    };
    Counters counters() const { return {messages_, bad_messages_}; }
    void set_counters(const Counters& c)
    {
        messages_ = c.messages;
        bad_messages_ = c.bad_messages;
    }

private:
    ExitAction handle(uint64_t msg_gpa);
    std::string text_of(uint64_t gpa, uint32_t len) const;

    GuestMemory& memory_;
    Sinks sinks_;
    uint64_t messages_ = 0;
    uint64_t bad_messages_ = 0;
};

}  // namespace cr3rig
