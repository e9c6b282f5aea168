// Each guest of guest/tests on real KVM, through the library: verdict, reason, console.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "common/errors.hpp"
#include "cr3rig/abi.h"
#include "harness/bench_port.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/runner.hpp"

using namespace cr3rig;

namespace {

RunResult run(const char* guest, std::chrono::milliseconds timeout = std::chrono::seconds(30))
{
    RunOptions options;
    options.timeout = timeout;
    return run_guest(ElfImage::read_file(std::string(CR3RIG_GUEST_DIR "/") + guest + ".elf"), options);
}

}  // namespace

TEST_CASE("hello prints a line and passes")
{
    std::vector<std::string> logs;
    RunOptions options;
    options.on_log = [&](const std::string& s) { logs.push_back(s); };
    RunResult r = run_guest(ElfImage::read_file(CR3RIG_GUEST_DIR "/hello.elf"), options);
    INFO(r.verdict.reason);
    CHECK(r.verdict.kind == VerdictKind::Pass);
    CHECK(r.verdict.guest_status == 0u);
    CHECK(r.console == "hello from cr3rig guest\n");
    CHECK(logs == std::vector<std::string>{"hello: done"});
    CHECK(r.stats.of(ExitKind::Io) > 0);
    CHECK(r.bad_rig_messages == 0);
}

TEST_CASE("fail reports the failed assert with file and line")
{
    RunResult r = run("fail");
    CHECK(r.verdict.kind == VerdictKind::Fail);
    // GUEST_ASSERT(answer == 42) sits on line 8 of guest/tests/fail.c.
    CHECK(r.verdict.reason == "guest assert failed at guest/tests/fail.c:8: answer == 42");
    CHECK(r.console == "fail: about to assert\n");
}

TEST_CASE("hang ends at the deadline with a timeout")
{
    RunResult r = run("hang", std::chrono::milliseconds(500));
    CHECK(r.verdict.kind == VerdictKind::Timeout);
    CHECK(r.console == "hang: spinning forever\n");
}

TEST_CASE("halt with interrupts off is kicked out by the watchdog")
{
    RunResult r = run("halt", std::chrono::milliseconds(500));
    CHECK(r.verdict.kind == VerdictKind::Timeout);
    CHECK(r.stats.of(ExitKind::Interrupted) >= 1);
}

TEST_CASE("triple-fault crashes with a register dump")
{
    RunResult r = run("triple-fault");
    CHECK(r.verdict.kind == VerdictKind::Crash);
    CHECK_THAT(r.verdict.reason, Catch::Contains("triple fault"));
    CHECK_THAT(r.crash_dump, Catch::Contains("RIP:"));
    CHECK_THAT(r.crash_dump, Catch::Contains("IDT: 0000000000000000/0000"));
}

TEST_CASE("pingpong's bench-port writes are each a round trip")
{
    testing::BenchPort bench;
    RunOptions options;
    options.extra_devices = {&bench};
    RunResult r = run_guest(ElfImage::read_file(CR3RIG_GUEST_DIR "/pingpong.elf"), options);
    CHECK(r.verdict.kind == VerdictKind::Pass);
    CHECK(bench.hits() == 20000);
    CHECK(bench.window() > std::chrono::nanoseconds::zero());
    CHECK(r.stats.of(ExitKind::Io) >= 20000);
    CHECK(r.unclaimed_port_accesses == 0);

    // Without it the port is no device's: the writes are dropped and counted.
    RunResult plain = run("pingpong");
    CHECK(plain.verdict.kind == VerdictKind::Pass);
    CHECK(plain.unclaimed_port_accesses == 20000);
}

TEST_CASE("a device that claims a port of the machine's is refused at start-up")
{
    struct Intruder : Device {
        std::string_view name() const override { return "intruder"; }
        Claims claims() const override { return {{{CR3RIG_UART_PORT + 4, 2}}, {}}; }
        ExitAction io(const IoAccess&) override { return std::nullopt; }
    } intruder;
    RunOptions options;
    options.extra_devices = {&intruder};
    try {
        run_guest(ElfImage::read_file(CR3RIG_GUEST_DIR "/hello.elf"), options);
        FAIL("the machine started");
    } catch (const std::logic_error& e) {
        CHECK(std::string(e.what()) == "port 0x3fc claimed twice: by uart [0x3f8, 0x400) and by intruder [0x3fc, 0x3fe)");
    }
}

TEST_CASE("a guest that does not fit in guest memory is bad input")
{
    RunOptions options;
    options.memory_bytes = 1 << 20;  // the image loads at 1 MiB: nothing fits
    CHECK_THROWS_AS(run_guest(ElfImage::read_file(CR3RIG_GUEST_DIR "/hello.elf"), options), BadInput);
}
