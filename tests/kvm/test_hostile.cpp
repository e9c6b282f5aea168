// Hostile guests (guest/hostile): each misbehaves in one way, and the rig must end it
// with the expected verdict, exit code and a clear message, without crashing or
// hanging past the deadline.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <vector>

#include "harness/run_command.hpp"

using cr3rig::testing::run_command;

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }

uint64_t number_after(const std::string& text, const std::string& label)
{
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(label + R"( (\d+))")))
        return UINT64_MAX;
    return std::stoull(m[1]);
}

// Runs a guest plain, then trapped without and with injections after reads: it
// passes every time, prints each of `lines`, and the trap engine finds nothing.
void check_passes_plain_and_trapped(const std::string& guest, const std::vector<std::string>& lines)
{
    for (std::string mode : {"", "--inject none ", "--inject after-read "}) {
        auto r = run_command(cli("run builtin:" + guest + " " + mode + "--serial-log /dev/stdout"));
        INFO(mode << "\n" << r.output);
        CHECK(r.exit_code == 0);
        for (const auto& line : lines)
            CHECK_THAT(r.output, Catch::Contains(line));
        CHECK_THAT(r.output, !Catch::Contains("FINDING"));
        CHECK_THAT(r.output, !Catch::Contains("host error"));
    }
}

}  // namespace

TEST_CASE("unclaimed ports and MMIO addresses read as all-ones, are counted, and the guest passes")
{
    auto r = run_command(cli("run builtin:hostile-ports --stats -q"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("unclaimed port accesses: 5, unclaimed MMIO accesses: 3"));
}

TEST_CASE("bad rig-port messages are each reported and a flood is rate-limited with a count")
{
    auto r = run_command(cli("run builtin:hostile-rigport --stats -q"));
    INFO(r.output.substr(0, 4000));
    CHECK(r.exit_code == 0);
    CHECK(number_after(r.output, "bad rig messages:") == 4);
    CHECK_THAT(r.output, Catch::Contains("outside guest memory"));
    CHECK_THAT(r.output, Catch::Contains("unknown message kind 99"));
    CHECK_THAT(r.output, Catch::Contains("expected one 32-bit write"));
    CHECK_THAT(r.output, Catch::Contains("counted, not shown"));
    uint64_t dropped = number_after(r.output, "rig messages dropped by the rate limit:");
    CHECK(dropped > 10000);  // of 30,000, at most the burst and 100 per second get through
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') < 30000 - 10000);
    // The clamped text stops at its NUL: no raw control bytes reach the terminal.
    CHECK(r.output.find('\0') == std::string::npos);
}

TEST_CASE("an interrupt storm ends at the deadline with a timeout")
{
    auto r = run_command(cli("run builtin:hostile-irq-storm --timeout 2 -q --serial-log /dev/stdout"));
    INFO(r.output.substr(0, 2000));
    CHECK(r.exit_code == 124);
    CHECK_THAT(r.output, Catch::Contains("deadline reached"));
    CHECK_THAT(r.output, Catch::Contains("hostile-irq-storm: ..."));  // 2048 interrupts and more
}

TEST_CASE("an endless fault loop times out, and under traps is a livelock, never a stale CR3 write")
{
    auto plain = run_command(cli("run builtin:hostile-fault-loop --timeout 2 -q"));
    INFO(plain.output);
    CHECK(plain.exit_code == 124);
    auto trapped = run_command(cli("run builtin:hostile-fault-loop --inject none --timeout 30 -q"));
    INFO(trapped.output);
    CHECK(trapped.exit_code == 1);
    CHECK_THAT(trapped.output, Catch::Contains("FINDING page-fault-livelock"));
    CHECK_THAT(trapped.output, !Catch::Contains("stale-cr3-write"));
    CHECK_THAT(trapped.output, !Catch::Contains("cr3-not-active-mm"));
}

TEST_CASE("a guest that moves its IDT keeps its faults seen by the trap engine")
{
    auto r = run_command(cli("run builtin:hostile-idt-change --inject none --stats -q"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(number_after(r.output, "injections,") == 2);  // "... 0 injections, 2 page faults"
    CHECK(number_after(r.output, "rig ticks,") == 2);   // "... 0 rig ticks, 2 IDT loads"
}

TEST_CASE("a guest that programs DR7 itself passes and the rig says its breakpoints take precedence")
{
    auto plain = run_command(cli("run builtin:hostile-dr7 -q"));
    CHECK(plain.exit_code == 0);
    auto trapped = run_command(cli("run builtin:hostile-dr7 --inject none -q"));
    INFO(trapped.output);
    CHECK(trapped.exit_code == 0);
    CHECK_THAT(trapped.output, Catch::Contains("the guest programmed its own breakpoints"));
}

TEST_CASE("a guest that rewrites its code at a CR3 site is rescanned, not emulated wrongly")
{
    auto plain = run_command(cli("run builtin:hostile-smc -q"));
    CHECK(plain.exit_code == 0);
    auto trapped = run_command(cli("run builtin:hostile-smc --inject none --stats -q"));
    INFO(trapped.output);
    CHECK(trapped.exit_code == 0);  // the guest asserts its rewritten code no longer reads CR3
    CHECK_THAT(trapped.output, Catch::Contains("rewrote its code"));
    CHECK_THAT(trapped.output, Catch::Contains("1 -> 0 CR3 sites"));
    CHECK(number_after(trapped.output, "IDT loads,") == 1);  // "... 0 IDT loads, 1 rescans"
}

TEST_CASE("a run killed with SIGKILL leaves a valid prefix of its trace")
{
    std::string trace = "/tmp/cr3rig-killed-" + std::to_string(::getpid()) + ".jsonl";
    // Kill the run once its trace has records on disk (the fault loop makes them fast).
    std::string script = cli("run builtin:hostile-fault-loop --inject none --livelock-abort 0 --timeout 300 -q --trace " +
                             trace) +
                         " & pid=$!; for i in $(seq 600); do [ $(wc -l < " + trace +
                         " 2>/dev/null || echo 0) -ge 1000 ] && break; sleep 0.1; done; kill -9 $pid; wait $pid";
    auto killed = run_command("sh -c '" + script + "'");
    CHECK(killed.exit_code == 137);  // SIGKILL: nothing of cr3rig ran after it
    std::string text = cr3rig::testing::read_file(trace);
    REQUIRE(std::count(text.begin(), text.end(), '\n') >= 1000);
    CHECK(text.back() == '\n');  // whole records only
    auto shown = run_command(cli("trace " + trace + " --to text"));
    INFO(shown.output.substr(0, 2000));
    CHECK(shown.exit_code == 0);
    CHECK_THAT(shown.output, Catch::Contains("the run did not finish"));
    std::remove(trace.c_str());
}

TEST_CASE("an assert whose file name lies outside guest memory still fails the run")
{
    auto r = run_command(cli("run builtin:hostile-bad-assert -q"));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("guest assert failed at <file name unreadable: guest-physical range"));
    CHECK_THAT(r.output, Catch::Contains(":42: hostile-bad-assert: 1 == 2"));
    CHECK_THAT(r.output, !Catch::Contains("the rig let the malformed assert pass"));
}

TEST_CASE("a CR3 write with reserved bits raises #GP(0) for the guest to handle, trapped or not")
{
    // The guest checks its handler ran with RIP at the mov, error code 0, RF in the
    // pushed RFLAGS and CR3 unchanged; then that a valid write still loads CR3.
    check_passes_plain_and_trapped("hostile-cr3-gp", {"hostile-cr3-gp: bit 63 without PCIDE: #GP(0)",
                                                      "hostile-cr3-gp: a valid write still loads CR3"});
}

TEST_CASE("CR3 accesses in user mode raise #GP(0) under traps too, and are not recorded as accesses")
{
    // The guest checks its handler saw #GP(0) at each mov, raised in ring 3. The rig
    // used to perform them (a triple fault) or record the read (a false stale write).
    check_passes_plain_and_trapped("hostile-cr3-user", {"hostile-cr3-user: CR3 read at CPL 3: #GP(0)",
                                                        "hostile-cr3-user: CR3 write at CPL 3: #GP(0)"});
}
