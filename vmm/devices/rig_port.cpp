#include "vmm/devices/rig_port.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/hex.hpp"
#include "cr3rig/abi.h"
#include "vmm/guest_memory.hpp"

namespace cr3rig {

namespace {

constexpr size_t kFileNameMax = 256;

// Control bytes come out as \xNN so a guest cannot drive the user's terminal; a
// text ends at its first NUL.
std::string printable(std::span<const uint8_t> bytes)
{
    std::string out;
    for (uint8_t c : bytes) {
        if (c == 0)
            break;
        if (c < 0x20 || c == 0x7f) {
            char esc[5];
            std::snprintf(esc, sizeof esc, "\\x%02x", c);
            out += esc;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace

bool RigPort::may_deliver()
{
    auto now = std::chrono::steady_clock::now();
    tokens_ = std::min(kBurst, tokens_ + std::chrono::duration<double>(now - refilled_).count() * kPerSecond);
    refilled_ = now;
    if (tokens_ >= 1) {
        tokens_ -= 1;
        return true;
    }
    if (counters_.dropped++ == 0 && sinks_.bad)
        sinks_.bad("rig port: the guest sends messages faster than " + std::to_string(int(kPerSecond)) +
                   "/s after a burst of " + std::to_string(int(kBurst)) + ": the excess is counted, not shown");
    return false;
}

void RigPort::report_bad(const std::string& what)
{
    counters_.bad_messages++;
    if (sinks_.bad && may_deliver())
        sinks_.bad(what);
}

Claims RigPort::claims() const { return {{{CR3RIG_RIG_PORT, CR3RIG_RIG_LEN}}, {}}; }

ExitAction RigPort::io(const IoAccess& access)
{
    if (!access.out) {
        std::memset(access.data.data(), 0xff, access.data.size());
        return std::nullopt;
    }
    if (access.size != 4 || access.count != 1) {
        report_bad("rig port: expected one 32-bit write of a message address, got " + std::to_string(access.count) +
                   " x " + std::to_string(access.size) + " bytes");
        return std::nullopt;
    }
    try {
        return handle(access.value());
    } catch (const GuestAccessError& e) {
        report_bad(std::string("rig port: bad message: ") + e.what());
        return std::nullopt;
    }
}

// The text ends at its length or its first NUL, whichever comes first.
std::string RigPort::text_of(uint64_t gpa, uint32_t len) const
{
    return printable(memory_.span(gpa, std::min<uint32_t>(len, CR3RIG_MSG_TEXT_MAX)));
}

// A failed assert ends the run as FAIL even when its file name or its text cannot be
// read: the guest has failed all the same. The reason says which part was unreadable
// and why, and the message is counted as a bad one.
ExitAction RigPort::assert_failed(const cr3rig_msg& msg)
{
    auto readable = [this](const char* part, auto read) -> std::string {
        try {
            return read();
        } catch (const GuestAccessError& e) {
            report_bad(std::string("rig port: assert message with an unreadable ") + part + ": " + e.what());
            return std::string("<") + part + " unreadable: " + e.what() + ">";
        }
    };
    std::string file = readable("file name", [&] {
        std::string name = memory_.read_cstring(msg.file_gpa, kFileNameMax);
        return printable({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
    });
    std::string expr = readable("text", [&] { return text_of(msg.text_gpa, msg.text_len); });
    return Stop{VerdictKind::Fail, "guest assert failed at " + file + ":" + std::to_string(msg.line) + ": " + expr,
                std::nullopt};
}

ExitAction RigPort::handle(uint64_t msg_gpa)
{
    auto msg = memory_.read<cr3rig_msg>(msg_gpa);
    counters_.messages++;
    switch (msg.kind) {
    case CR3RIG_MSG_LOG: {
        std::string text = text_of(msg.text_gpa, msg.text_len);  // checked even when it is not shown
        if (sinks_.log && may_deliver())
            sinks_.log(text);
        return std::nullopt;
    }
    case CR3RIG_MSG_ASSERT:  // ends the run: never rate-limited
        return assert_failed(msg);
    case CR3RIG_MSG_TRACE:
        if (sinks_.trace && may_deliver())
            sinks_.trace({msg.event, {msg.args[0], msg.args[1], msg.args[2], msg.args[3]}});
        return std::nullopt;
    default:
        report_bad("rig port: unknown message kind " + std::to_string(msg.kind) + " at " + hex(msg_gpa));
        return std::nullopt;
    }
}

}  // namespace cr3rig
