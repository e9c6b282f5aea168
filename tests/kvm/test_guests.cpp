// Each guest of guest/tests on real KVM, through the library: verdict, reason, console.
#include <catch2/catch.hpp>

#include "vmm/elf_loader.hpp"
#include "common/errors.hpp"
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
    RunResult r = run("pingpong");
    CHECK(r.verdict.kind == VerdictKind::Pass);
    CHECK(r.bench_port_hits == 20000);
    CHECK(r.stats.of(ExitKind::Io) >= 20000);
}

TEST_CASE("a guest that does not fit in guest memory is bad input")
{
    RunOptions options;
    options.memory_bytes = 1 << 20;  // the image loads at 1 MiB: nothing fits
    CHECK_THROWS_AS(run_guest(ElfImage::read_file(CR3RIG_GUEST_DIR "/hello.elf"), options), BadInput);
}
