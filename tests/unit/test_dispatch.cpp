// Exit decoding and dispatch on synthetic exits: no KVM involved.
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "cr3rig/abi.h"
#include "vmm/compose_verdict.hpp"
#include "vmm/devices/debug_exit.hpp"
#include "vmm/devices/rig_port.hpp"
#include "vmm/devices/uart.hpp"
#include "vmm/dispatch.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/vm_exit.hpp"

using namespace cr3rig;

namespace {

// A fake kvm_run page with room for port-I/O data after the struct.
struct FakeRun {
    alignas(kvm_run) std::vector<uint8_t> page = std::vector<uint8_t>(4096);
    kvm_run& run() { return *reinterpret_cast<kvm_run*>(page.data()); }

    VmExit io(uint16_t port, bool out, uint8_t size, uint32_t value)
    {
        run().exit_reason = KVM_EXIT_IO;
        run().io.direction = out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN;
        run().io.size = size;
        run().io.port = port;
        run().io.count = 1;
        run().io.data_offset = 2048;
        std::memcpy(page.data() + 2048, &value, sizeof value);
        return decode_exit(run(), page.size(), 0);
    }

    VmExit simple(uint32_t reason)
    {
        run().exit_reason = reason;
        return decode_exit(run(), page.size(), 0);
    }
};

}  // namespace

TEST_CASE("decode_exit turns kvm_run into value types")
{
    FakeRun f;
    VmExit io = f.io(0x3f8, true, 1, 'A');
    CHECK(io.kind == ExitKind::Io);
    CHECK(io.io.port == 0x3f8);
    CHECK(io.io.out);
    CHECK(io.io.value() == 'A');

    CHECK(f.simple(KVM_EXIT_SHUTDOWN).kind == ExitKind::Shutdown);
    CHECK(f.simple(KVM_EXIT_HLT).kind == ExitKind::Hlt);
    CHECK(f.simple(0xfff).kind == ExitKind::Unknown);
    CHECK(decode_exit(f.run(), f.page.size(), EINTR).kind == ExitKind::Interrupted);

    f.run().internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
    VmExit internal = f.simple(KVM_EXIT_INTERNAL_ERROR);
    CHECK(internal.kind == ExitKind::InternalError);
    CHECK(internal.detail == KVM_INTERNAL_ERROR_EMULATION);
}

TEST_CASE("decode_exit refuses port-I/O data outside the kvm_run page")
{
    FakeRun f;
    f.io(0x3f8, true, 1, 'A');
    f.run().io.data_offset = 4094;
    f.run().io.size = 4;
    CHECK(decode_exit(f.run(), f.page.size(), 0).kind == ExitKind::Unknown);
    f.run().io.data_offset = 0;
    f.run().io.count = 0xffffffff;
    CHECK(decode_exit(f.run(), f.page.size(), 0).kind == ExitKind::Unknown);
}

TEST_CASE("dispatch maps fatal exits to verdicts")
{
    FakeRun f;
    PortBus bus;
    auto verdict_of = [&](const VmExit& e) { return dispatch(e, bus, false)->kind; };
    CHECK(verdict_of(f.simple(KVM_EXIT_SHUTDOWN)) == VerdictKind::Crash);
    CHECK(verdict_of(f.simple(KVM_EXIT_INTERNAL_ERROR)) == VerdictKind::Crash);
    CHECK(verdict_of(f.simple(KVM_EXIT_FAIL_ENTRY)) == VerdictKind::Crash);
    CHECK(verdict_of(f.simple(0xfff)) == VerdictKind::Crash);
    CHECK_FALSE(dispatch(f.simple(KVM_EXIT_HLT), bus, false).has_value());
}

TEST_CASE("an interrupted KVM_RUN is a timeout only past the deadline")
{
    FakeRun f;
    PortBus bus;
    VmExit intr = decode_exit(f.run(), f.page.size(), EINTR);
    CHECK_FALSE(dispatch(intr, bus, false).has_value());
    auto stop = dispatch(intr, bus, true);
    REQUIRE(stop);
    CHECK(stop->kind == VerdictKind::Timeout);
}

TEST_CASE("the debug-exit port ends the run: 0 passes, 38 and 77 skip, anything else fails")
{
    FakeRun f;
    PortBus bus;
    DebugExit debug_exit;
    bus.attach(debug_exit);

    auto pass = dispatch(f.io(CR3RIG_DEBUG_EXIT_PORT, true, 4, 0), bus, false);
    REQUIRE(pass);
    CHECK(pass->kind == VerdictKind::Pass);
    CHECK_THAT(pass->reason, Catch::Contains("status 1"));

    auto fail = dispatch(f.io(CR3RIG_DEBUG_EXIT_PORT, true, 1, 3), bus, false);
    REQUIRE(fail);
    CHECK(fail->kind == VerdictKind::Fail);
    CHECK(fail->guest_status == 3u);
    CHECK_THAT(fail->reason, Catch::Contains("status 7"));

    // kvm-unit-tests' SKIP: report_summary() returns 77 >> 1 = 38, QEMU's status 77
    // (what run_tests.sh takes as SKIP); cr3rig's exit code 4 (kselftest's).
    auto kut_skip = dispatch(f.io(CR3RIG_DEBUG_EXIT_PORT, true, 4, 38), bus, false);
    REQUIRE(kut_skip);
    CHECK(kut_skip->kind == VerdictKind::Skip);
    CHECK(kut_skip->guest_status == 38u);
    CHECK_THAT(kut_skip->reason, Catch::Contains("status 77"));
    CHECK(CR3RIG_EXIT_SKIP_KUT == 38u);

    // cr3rig's own guests skip with 77 (QEMU's status 155).
    auto skip = dispatch(f.io(CR3RIG_DEBUG_EXIT_PORT, true, 4, CR3RIG_EXIT_SKIP), bus, false);
    REQUIRE(skip);
    CHECK(skip->kind == VerdictKind::Skip);
    CHECK(skip->guest_status == 77u);
    CHECK_THAT(skip->reason, Catch::Contains("status 155"));
    CHECK(exit_code_of(VerdictKind::Skip) == kExitSkip);
    CHECK(name_of(VerdictKind::Skip) == "SKIP");
    for (uint32_t v : {1u, 37u, 39u, 63u, 76u, 78u})  // 63: abort(), QEMU's 127
        CHECK(verdict_of_exit_value(v) == VerdictKind::Fail);
}

TEST_CASE("unclaimed ports read as all-ones and are counted")
{
    FakeRun f;
    PortBus bus;
    VmExit in = f.io(0x1234, false, 2, 0);
    CHECK_FALSE(dispatch(in, bus, false).has_value());
    CHECK(in.io.value() == 0xffff);
    CHECK_FALSE(dispatch(f.io(0x1234, true, 1, 7), bus, false).has_value());
    CHECK(bus.unclaimed().ports == 2);
    CHECK(bus.unclaimed().mmio == 0);
}

TEST_CASE("MMIO accesses hit nothing: reads are all-ones, both kinds are counted")
{
    PortBus bus;
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    VmExit read;
    read.kind = ExitKind::Mmio;
    read.mmio = {0xc0000000, false, {data, 4}};
    CHECK_FALSE(dispatch(read, bus, false).has_value());
    CHECK(data[0] == 0xff);
    CHECK(data[3] == 0xff);
    CHECK(data[4] == 5);  // only the access's own bytes
    VmExit write = read;
    write.mmio.write = true;
    CHECK_FALSE(dispatch(write, bus, false).has_value());
    CHECK(bus.unclaimed().mmio == 2);
    CHECK(bus.unclaimed().ports == 0);
}

TEST_CASE("the UART transmits THR writes and reports its transmitter ready")
{
    FakeRun f;
    PortBus bus;
    std::string console;
    Uart uart(CR3RIG_UART_PORT, [&](char c) { console += c; });
    bus.attach(uart);

    dispatch(f.io(CR3RIG_UART_PORT, true, 1, 'o'), bus, false);
    dispatch(f.io(CR3RIG_UART_PORT, true, 1, 'k'), bus, false);
    CHECK(console == "ok");

    VmExit lsr = f.io(CR3RIG_UART_PORT + 5, false, 1, 0);
    dispatch(lsr, bus, false);
    CHECK((lsr.io.value() & 0x60) == 0x60);

    // With DLAB set, offset 0 is the divisor latch, not the transmitter.
    dispatch(f.io(CR3RIG_UART_PORT + 3, true, 1, 0x80), bus, false);
    dispatch(f.io(CR3RIG_UART_PORT, true, 1, 'x'), bus, false);
    CHECK(console == "ok");
}

TEST_CASE("the UART's registers are its snapshot state")
{
    FakeRun f;
    PortBus bus;
    std::string console;
    Uart uart(CR3RIG_UART_PORT, [&](char c) { console += c; });
    bus.attach(uart);
    auto read_register = [&](uint16_t offset) {
        VmExit in = f.io(CR3RIG_UART_PORT + offset, false, 1, 0);
        dispatch(in, bus, false);
        return in.io.value() & 0xff;
    };

    dispatch(f.io(CR3RIG_UART_PORT + 7, true, 1, 0x5a), bus, false);  // scratch register
    auto saved = uart.save();
    REQUIRE(saved);
    dispatch(f.io(CR3RIG_UART_PORT + 7, true, 1, 0x11), bus, false);
    dispatch(f.io(CR3RIG_UART_PORT + 3, true, 1, 0x80), bus, false);  // DLAB on
    uart.restore(*saved);
    CHECK(read_register(7) == 0x5a);
    dispatch(f.io(CR3RIG_UART_PORT, true, 1, 'y'), bus, false);  // DLAB off again: transmitted
    CHECK(console == "y");

    DebugExit other;
    CHECK(other.save() == nullptr);
    RigPort::Counters counters;
    CHECK_THROWS_AS(uart.restore(StateOf<RigPort::Counters>(counters)), std::logic_error);
}

TEST_CASE("rig-port messages are read from guest memory with bounds checks")
{
    FakeRun f;
    PortBus bus;
    GuestMemory memory(1 << 20);
    std::vector<std::string> logs, bad;
    std::vector<TraceRecord> traces;
    RigPort rig(memory, {[&](const std::string& s) { logs.push_back(s); },
                         [&](const TraceRecord& t) { traces.push_back(t); },
                         [&](const std::string& s) { bad.push_back(s); }});
    bus.attach(rig);

    const char file[] = "guest/tests/x.c";
    const char expr[] = "a == b";
    memory.write_bytes(0x3000, {reinterpret_cast<const uint8_t*>(file), sizeof file});
    memory.write_bytes(0x3100, {reinterpret_cast<const uint8_t*>(expr), sizeof expr - 1});
    auto put_log_message = [&](uint64_t text_gpa, uint32_t text_len) {  // at 0x2000
        cr3rig_msg msg{};
        msg.kind = CR3RIG_MSG_LOG;
        msg.text_gpa = text_gpa;
        msg.text_len = text_len;
        memory.write(0x2000, msg);
    };

    SECTION("log")
    {
        put_log_message(0x3100, 6);
        CHECK_FALSE(dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0x2000), bus, false).has_value());
        CHECK(logs == std::vector<std::string>{"a == b"});
    }
    SECTION("assert")
    {
        cr3rig_msg msg{};
        msg.kind = CR3RIG_MSG_ASSERT;
        msg.line = 42;
        msg.file_gpa = 0x3000;
        msg.text_gpa = 0x3100;
        msg.text_len = 6;
        memory.write(0x2000, msg);
        auto stop = dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0x2000), bus, false);
        REQUIRE(stop);
        CHECK(stop->kind == VerdictKind::Fail);
        CHECK(stop->reason == "guest assert failed at guest/tests/x.c:42: a == b");
    }
    SECTION("trace")
    {
        cr3rig_msg msg{};
        msg.kind = CR3RIG_MSG_TRACE;
        msg.event = 7;
        msg.args[0] = 0x1000;
        msg.args[3] = 9;
        memory.write(0x2000, msg);
        dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0x2000), bus, false);
        REQUIRE(traces.size() == 1);
        CHECK(traces[0].event == 7);
        CHECK(traces[0].args[0] == 0x1000);
        CHECK(traces[0].args[3] == 9);
    }
    SECTION("message outside guest memory")
    {
        CHECK_FALSE(dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0xfffffff0), bus, false).has_value());
        CHECK(rig.bad_messages() == 1);
        REQUIRE(bad.size() == 1);
        CHECK_THAT(bad[0], Catch::Contains("outside guest memory"));
    }
    SECTION("text that runs past the end of memory")
    {
        put_log_message((1 << 20) - 2, 100);
        CHECK_FALSE(dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0x2000), bus, false).has_value());
        CHECK(rig.bad_messages() == 1);
        CHECK(logs.empty());
    }
    SECTION("unknown kind")
    {
        cr3rig_msg msg{};
        msg.kind = 99;
        memory.write(0x2000, msg);
        dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0x2000), bus, false);
        CHECK(rig.bad_messages() == 1);
    }
    SECTION("the counters are its snapshot state")
    {
        put_log_message(0x3100, 6);
        dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0x2000), bus, false);
        auto saved = rig.save();
        REQUIRE(saved);
        dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0xfffffff0), bus, false);
        CHECK(rig.bad_messages() == 1);
        rig.restore(*saved);
        CHECK(rig.messages() == 1);
        CHECK(rig.bad_messages() == 0);
    }
    SECTION("text ends at a NUL and control bytes are escaped")
    {
        const uint8_t raw[] = {'o', 'k', 0x1b, '[', '2', 'J', '\n', 0, 'x', 'x'};
        memory.write_bytes(0x3200, raw);
        put_log_message(0x3200, sizeof raw);
        dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0x2000), bus, false);
        CHECK(logs == std::vector<std::string>{"ok\\x1b[2J\\x0a"});
    }
    SECTION("a flood is cut at the burst, counted, and noted once")
    {
        put_log_message(0x3100, 6);
        const int flood = static_cast<int>(RigPort::kBurst) + 500;
        for (int i = 0; i < flood; i++)
            dispatch(f.io(CR3RIG_RIG_PORT, true, 4, 0x2000), bus, false);
        CHECK(rig.messages() == static_cast<uint64_t>(flood));
        // A few tokens may come back while the loop runs: 100 per second of host time.
        CHECK(logs.size() >= static_cast<size_t>(RigPort::kBurst));
        CHECK(logs.size() + rig.dropped() == static_cast<size_t>(flood));
        CHECK(rig.dropped() > 0);
        REQUIRE(bad.size() == 1);
        CHECK_THAT(bad[0], Catch::Contains("counted, not shown"));
    }
}

TEST_CASE("ExitStats counts exits by reason and port")
{
    FakeRun f;
    ExitStats stats;
    stats.count(f.io(0x3f8, true, 1, 'a'));
    stats.count(f.io(0x3f8, true, 1, 'b'));
    stats.count(f.simple(KVM_EXIT_SHUTDOWN));
    CHECK(stats.of(ExitKind::Io) == 2);
    CHECK(stats.of(ExitKind::Shutdown) == 1);
    CHECK(stats.total() == 3);
    CHECK_THAT(stats.format(), Catch::Contains("port 0x03f8"));
}

TEST_CASE("compose_verdict: the ending as it is without findings, FAIL with the first finding otherwise")
{
    Stop pass{VerdictKind::Pass, "guest exit code 0 (debug-exit status 1)", 0u};
    Verdict clean = compose_verdict(pass, {});
    CHECK(clean.kind == VerdictKind::Pass);
    CHECK(clean.reason == pass.reason);
    CHECK(clean.guest_status == 0u);
    CHECK(clean.findings.empty());

    auto finding = [](FindingKind kind, const char* summary) {
        Finding f{};
        f.kind = kind;
        f.summary = summary;
        return f;
    };
    Finding stale = finding(FindingKind::StaleCr3Write, "at write_cr3 (0x100b90): wrote 0x5000");
    Finding livelock = finding(FindingKind::FaultLivelock, "58 faults");
    Verdict caught = compose_verdict(pass, {stale, livelock});
    CHECK(caught.kind == VerdictKind::Fail);
    CHECK(caught.reason ==
          "stale-cr3-write: at write_cr3 (0x100b90): wrote 0x5000 (guest: PASS, guest exit code 0 (debug-exit status 1))");
    CHECK(caught.findings.size() == 2);
    CHECK(caught.guest_status == 0u);

    Verdict failed = compose_verdict({VerdictKind::Fail, "page-fault livelock: run stopped", std::nullopt}, {livelock});
    CHECK(failed.kind == VerdictKind::Fail);
    CHECK(failed.reason == "page-fault-livelock: 58 faults (guest: page-fault livelock: run stopped)");

    CHECK(compose_verdict({VerdictKind::Timeout, "deadline reached", std::nullopt}, {stale}).kind == VerdictKind::Fail);
}

TEST_CASE("verdict kinds: one exit code each, names that read back")
{
    CHECK(exit_code_of(VerdictKind::Pass) == 0);
    CHECK(exit_code_of(VerdictKind::Fail) == 1);
    CHECK(exit_code_of(VerdictKind::BadInput) == 2);
    CHECK(exit_code_of(VerdictKind::Crash) == 3);
    CHECK(exit_code_of(VerdictKind::Skip) == 4);
    CHECK(exit_code_of(VerdictKind::Timeout) == 124);
    for (VerdictKind k : {VerdictKind::Pass, VerdictKind::Fail, VerdictKind::Skip, VerdictKind::Crash,
                          VerdictKind::Timeout, VerdictKind::BadInput})
        CHECK(verdict_kind_named(name_of(k)) == k);
    CHECK_FALSE(verdict_kind_named("pass").has_value());
    CHECK_FALSE(verdict_kind_named("").has_value());
}
