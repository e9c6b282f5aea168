// `cr3rig run` end to end: the exit-code contract of the README on real guests.
#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "harness/run_command.hpp"
#include "tests/support/line_match.hpp"

using cr3rig::testing::run_command;

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }
std::string guest(const char* name) { return std::string(CR3RIG_GUEST_DIR "/") + name + ".elf"; }

}  // namespace

TEST_CASE("cr3rig run gives 0, 1, 124 and 3 for hello, fail, hang and triple-fault")
{
    auto hello = run_command(cli("run " + guest("hello")));
    CHECK(hello.exit_code == 0);
    CHECK_THAT(hello.output, Catch::Contains("hello from cr3rig guest"));
    CHECK_THAT(hello.output, Catch::Contains("PASS"));

    auto fail = run_command(cli("run " + guest("fail")));
    CHECK(fail.exit_code == 1);
    CHECK_THAT(fail.output, Catch::Contains("guest/tests/fail.c:8"));

    auto hang = run_command(cli("run --timeout 2 " + guest("hang")));
    CHECK(hang.exit_code == 124);
    CHECK_THAT(hang.output, Catch::Contains("TIMEOUT"));

    auto triple = run_command(cli("run " + guest("triple-fault")));
    CHECK(triple.exit_code == 3);
    CHECK_THAT(triple.output, Catch::Contains("triple fault"));
    CHECK_THAT(triple.output, Catch::Contains("RIP:"));
}

TEST_CASE("cr3rig run with no guest runs buggy and fixed under after-read, side by side")
{
    // Once: trapped runs keep guest time on the rig clock, so the pair comes out the
    // same however busy the host is (test_determinism.cpp runs it 20 times under load).
    auto r = run_command(cli("run -q"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(cr3rig::testing::has_line_matching(
        r.output, R"(builtin:lazytlb-buggy +FAIL +stale-cr3-write, cr3-not-active-mm, page-fault-livelock)"));
    CHECK(cr3rig::testing::has_line_matching(r.output, R"(builtin:lazytlb-fixed +PASS +-)"));
    CHECK_THAT(r.output, Catch::Contains("the rig caught the buggy kernel and the fixed kernel is clean"));
}

TEST_CASE("cr3rig run --stats prints per-exit-reason counters")
{
    auto r = run_command(cli("run --stats -q builtin:hello"));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("exits:"));
    CHECK_THAT(r.output, Catch::Contains("port 0x03f8"));
    CHECK_THAT(r.output, !Catch::Contains("hello from cr3rig guest"));  // -q
}

// cr3rig's own stderr lines (the guest console to /dev/null), one per element.
static std::vector<std::string> rig_lines(const std::string& args, int* exit_code)
{
    auto r = run_command("( " + cli(args) + " 2>&1 >/dev/null )");
    *exit_code = r.exit_code;
    std::vector<std::string> lines;
    std::istringstream in(r.output);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

TEST_CASE("every line cr3rig writes to stderr starts cr3rig:, --stats and crash dumps included")
{
    for (const char* args : {"run --stats builtin:hello", "run --stats --inject none builtin:hello",
                             "run builtin:triple-fault"}) {
        int exit_code = 0;
        auto lines = rig_lines(args, &exit_code);
        INFO(args);
        CHECK(lines.size() > 3);
        for (const auto& line : lines) {
            INFO(line);
            CHECK_THAT(line, Catch::StartsWith("cr3rig: "));
        }
    }
}

TEST_CASE("an output that fails during the run ends it with exit 3, naming the path")
{
    auto trace = run_command(cli("run -q --trace /dev/full builtin:hello"));
    INFO(trace.output);
    CHECK(trace.exit_code == 3);
    CHECK_THAT(trace.output, Catch::Contains("cr3rig: host error: cannot write trace file /dev/full"));

    auto serial = run_command(cli("run -q --serial-log /dev/full builtin:hello"));
    INFO(serial.output);
    CHECK(serial.exit_code == 3);
    CHECK_THAT(serial.output, Catch::Contains("cr3rig: host error: cannot write serial log /dev/full"));
}

TEST_CASE("cr3rig run --trace FILE with no guest writes a history per kernel")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-kvm-pair-trace";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto r = run_command(cli("run -q --trace " + (dir / "pair.jsonl").string()));
    INFO(r.output);
    CHECK_THAT(r.output, Catch::Contains("traces: " + (dir / "pair-buggy.jsonl").string() + " (buggy)"));
    CHECK_FALSE(std::filesystem::exists(dir / "pair.jsonl"));
    for (const char* which : {"buggy", "fixed"}) {
        std::string history = cr3rig::testing::read_file((dir / ("pair-" + std::string(which) + ".jsonl")).string());
        INFO(which);
        CHECK_THAT(history, Catch::StartsWith("{") && Catch::Contains("builtin:lazytlb-" + std::string(which)));
        CHECK_THAT(history, Catch::Contains("\"type\":\"verdict\""));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("doctor names the backend, the capabilities and what the probe guest showed")
{
    auto r = run_command(cli("doctor"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("KVM API version 12"));
    CHECK_THAT(r.output, Catch::Contains("yes  KVM_CAP_USER_MEMORY"));
    // The rig's own mechanisms: the KVM tests of traps pass here, so these must too.
    CHECK_THAT(r.output, Catch::Contains("ok   run a guest to a verdict"));
    CHECK_THAT(r.output, Catch::Contains("ok   hardware breakpoints"));
    CHECK_THAT(r.output, Catch::Contains("ok   single-step"));
    // Software breakpoints work on some hosts and not on others: probed either way.
    CHECK(std::regex_search(r.output, std::regex(R"((ok|FAIL) +software breakpoints \(int3\) +\S)")));
    CHECK_THAT(r.output, Catch::Contains("verdict: cr3rig can run here (exit 0)"));
}
