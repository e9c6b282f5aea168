// The rig port on messages a guest gets wrong: a failed assert fails the run even
// when its file name or text cannot be read.
#include <catch2/catch.hpp>

#include "cr3rig/abi.h"
#include "vmm/devices/rig_port.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/vm_exit.hpp"

using namespace cr3rig;

namespace {

constexpr uint64_t kMsgGpa = 0x1000;
constexpr uint64_t kTextGpa = 0x2000;
constexpr uint64_t kOutside = 0xfffff000;

// Writes `msg` at kMsgGpa and sends its address as the guest's 32-bit `out` does.
ExitAction send(RigPort& port, GuestMemory& memory, const cr3rig_msg& msg)
{
    memory.write(kMsgGpa, msg);
    uint32_t gpa = kMsgGpa;
    IoAccess access{CR3RIG_RIG_PORT, 4, 1, true, {reinterpret_cast<uint8_t*>(&gpa), sizeof gpa}};
    return port.io(access);
}

cr3rig_msg assert_message(uint64_t file_gpa, uint64_t text_gpa)
{
    cr3rig_msg msg{};
    msg.kind = CR3RIG_MSG_ASSERT;
    msg.line = 42;
    msg.file_gpa = file_gpa;
    msg.text_gpa = text_gpa;
    msg.text_len = 6;
    return msg;
}

}  // namespace

TEST_CASE("a failed assert fails the run, its unreadable parts said so")
{
    GuestMemory memory(1 << 20);
    std::vector<std::string> bad;
    RigPort port(memory, {nullptr, nullptr, [&](const std::string& line) { bad.push_back(line); }});
    const char text[] = "x == 1";
    memory.write_bytes(kTextGpa, {reinterpret_cast<const uint8_t*>(text), sizeof text});
    const char file[] = "t\x1b[2J.c";
    memory.write_bytes(kTextGpa + 0x100, {reinterpret_cast<const uint8_t*>(file), sizeof file});

    SECTION("readable: file, line and expression, control bytes escaped")
    {
        ExitAction stop = send(port, memory, assert_message(kTextGpa + 0x100, kTextGpa));
        REQUIRE(stop);
        CHECK(stop->kind == VerdictKind::Fail);
        CHECK(stop->reason == "guest assert failed at t\\x1b[2J.c:42: x == 1");
        CHECK(port.bad_messages() == 0);
    }
    SECTION("a file name outside guest memory")
    {
        ExitAction stop = send(port, memory, assert_message(kOutside, kTextGpa));
        REQUIRE(stop);
        CHECK(stop->kind == VerdictKind::Fail);
        CHECK_THAT(stop->reason, Catch::StartsWith("guest assert failed at <file name unreadable: guest-physical"));
        CHECK_THAT(stop->reason, Catch::EndsWith(":42: x == 1"));
        CHECK(port.bad_messages() == 1);
        REQUIRE(bad.size() == 1);
        CHECK_THAT(bad[0], Catch::Contains("assert message with an unreadable file name"));
    }
    SECTION("a text outside guest memory")
    {
        ExitAction stop = send(port, memory, assert_message(kTextGpa + 0x100, kOutside));
        REQUIRE(stop);
        CHECK(stop->kind == VerdictKind::Fail);
        CHECK_THAT(stop->reason, Catch::Contains(":42: <text unreadable: guest-physical range"));
    }
}
