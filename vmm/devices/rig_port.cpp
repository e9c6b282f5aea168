#include "rig_port.hpp"

#include <algorithm>
#include <cstring>

#include "../guest_memory.hpp"
#include "../hex.hpp"
#include "cr3rig/abi.h"

namespace cr3rig {

namespace {
constexpr size_t kFileNameMax = 256;
}

ExitAction RigPort::io(const IoAccess& access)
{
    if (!access.out) {
        std::memset(access.data.data(), 0xff, access.data.size());
        return std::nullopt;
    }
    if (access.size != 4 || access.count != 1) {
        bad_messages_++;
        if (sinks_.bad)
            sinks_.bad("rig port: expected one 32-bit write of a message address, got " +
                       std::to_string(access.count) + " x " + std::to_string(access.size) + " bytes");
        return std::nullopt;
    }
    try {
        return handle(access.value());
    } catch (const GuestAccessError& e) {
        bad_messages_++;
        if (sinks_.bad)
            sinks_.bad(std::string("rig port: bad message: ") + e.what());
        return std::nullopt;
    }
}

std::string RigPort::text_of(uint64_t gpa, uint32_t len) const
{
    auto bytes = memory_.span(gpa, std::min<uint32_t>(len, CR3RIG_MSG_TEXT_MAX));
    return {bytes.begin(), bytes.end()};
}

ExitAction RigPort::handle(uint64_t msg_gpa)
{
    auto msg = memory_.read<cr3rig_msg>(msg_gpa);
    messages_++;
    switch (msg.kind) {
    case CR3RIG_MSG_LOG:
        if (sinks_.log)
            sinks_.log(text_of(msg.text_gpa, msg.text_len));
        return std::nullopt;
    case CR3RIG_MSG_ASSERT: {
        std::string file = memory_.read_cstring(msg.file_gpa, kFileNameMax);
        std::string expr = text_of(msg.text_gpa, msg.text_len);
        return Stop{Verdict::Fail, "guest assert failed at " + file + ":" + std::to_string(msg.line) + ": " + expr,
                    std::nullopt};
    }
    case CR3RIG_MSG_TRACE:
        if (sinks_.trace)
            sinks_.trace({msg.event, {msg.args[0], msg.args[1], msg.args[2], msg.args[3]}});
        return std::nullopt;
    default:
        bad_messages_++;
        if (sinks_.bad)
            sinks_.bad("rig port: unknown message kind " + std::to_string(msg.kind) + " at " + hex(msg_gpa));
        return std::nullopt;
    }
}

}  // namespace cr3rig
