// `cr3rig run --boot-timeout` and `--json` end to end on real guests: a silent guest
// ends at the boot deadline with its reason, a guest that prints runs on to its own;
// the JSON object holds the verdict, findings, statistics and a replay token that
// `cr3rig replay` turns into the same findings.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/run_command.hpp"

using cr3rig::testing::read_file;
using cr3rig::testing::run_command;

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }

// `command` with its stderr dropped, in a subshell: run_command() adds 2>&1 after it.
// (Appended piece by piece: g++ 12 -O3 warns, -Wrestrict, on "(" + string.)
std::string without_stderr(const std::string& command)
{
    std::string out = "(";
    out += command;
    out += " 2>/dev/null)";
    return out;
}

std::filesystem::path temp_file(const std::string& name)
{
    auto path = std::filesystem::temp_directory_path() / ("cr3rig-kvm-run-outputs-" + name);
    std::filesystem::remove(path);
    return path;
}

}  // namespace

TEST_CASE("run --boot-timeout ends a guest that prints nothing, one or two vCPUs, with its reason")
{
    // silent never prints: whatever the host's load, the boot deadline is the one that passes.
    for (const char* smp : {"1", "2"}) {
        INFO("--smp " << smp);
        auto r = run_command(cli("run --boot-timeout 1 --timeout 600 --smp " + std::string(smp) + " builtin:silent"));
        INFO(r.output);
        CHECK(r.exit_code == 124);
        CHECK_THAT(r.output, Catch::Contains("builtin:silent: TIMEOUT: no output from the guest in 1 s"));
    }
    auto trapped = run_command(cli("run --boot-timeout 1 --timeout 600 --inject after-read builtin:silent"));
    CHECK(trapped.exit_code == 124);
    CHECK_THAT(trapped.output, Catch::Contains("no output from the guest in 1 s"));
}

TEST_CASE("run --boot-timeout gives way to the run's deadline once the guest has printed")
{
    // hello prints at once and passes; hang prints at once and runs on to --timeout.
    auto hello = run_command(cli("run --boot-timeout 60 builtin:hello"));
    CHECK(hello.exit_code == 0);
    auto hang = run_command(cli("run --boot-timeout 3 --timeout 5 builtin:hang"));
    INFO(hang.output);
    CHECK(hang.exit_code == 124);
    CHECK_THAT(hang.output, Catch::Contains("builtin:hang: TIMEOUT: deadline reached"));
    CHECK_THAT(hang.output, !Catch::Contains("no output from the guest"));
}

TEST_CASE("run --json writes the verdict, findings, statistics and a replay token that replays the run")
{
    auto path = temp_file("buggy.json");
    auto r = run_command(cli("run -q --inject nth:2:0 --json " + path.string() + " builtin:lazytlb-buggy"));
    INFO(r.output);
    REQUIRE(r.exit_code == 1);  // the exit code stays the verdict's
    auto j = nlohmann::json::parse(read_file(path.string()));
    CHECK(j["format"] == "cr3rig-run/1");
    CHECK(j["guest"] == "builtin:lazytlb-buggy");
    CHECK(j["verdict"] == "FAIL");
    CHECK(j["exit_code"] == 1);
    CHECK_THAT(j["reason"].get<std::string>(), Catch::StartsWith("stale-cr3-write: at write_cr3"));
    REQUIRE(j["findings"].size() >= 1);
    CHECK(j["findings"][0]["kind"] == "stale-cr3-write");
    CHECK(j["findings"][0]["read_site"].is_string());
    CHECK(j["statistics"]["traps"]["injections"] == 1);
    CHECK(j["statistics"]["exits"]["total"].get<uint64_t>() > 0);
    CHECK(j["trap_engine"]["inject"] == "nth:2:0");
    CHECK(j["trap_engine"]["rig_clock"] == 32);
    std::string token = j["trap_engine"]["replay_token"];
    CHECK_THAT(token, Catch::StartsWith("cr3rig1-") && Catch::EndsWith("-2-0-32-16"));

    // The token is the run: replayed in a fresh VM, the same findings at the same
    // sites (a livelock's summary also holds host time, which differs).
    auto replay = run_command(cli("replay " + token + " builtin:lazytlb-buggy"));
    INFO(replay.output);
    CHECK(replay.exit_code == 1);
    CHECK_THAT(replay.output, Catch::Contains("FINDING stale-cr3-write: " + j["findings"][0]["summary"].get<std::string>()));
    for (const auto& f : j["findings"])
        CHECK_THAT(replay.output, Catch::Contains(f["kind"].get<std::string>() + "(" +
                                                  (f["kind"] == "stale-cr3-write" ? "write " : "") +
                                                  f["site"].get<std::string>()));
}

TEST_CASE("run --json - puts only the JSON on stdout, and after-read and no trap engine give no token")
{
    auto hello = run_command(without_stderr(cli("run --json - builtin:hello")));
    REQUIRE(hello.exit_code == 0);
    auto j = nlohmann::json::parse(hello.output);  // throws if the console were echoed too
    CHECK(j["verdict"] == "PASS");
    CHECK(j["trap_engine"].is_null());
    CHECK(j["statistics"]["console_bytes"] == 24);

    auto every = run_command(without_stderr(cli("run --json - --inject after-read builtin:lazytlb-fixed")));
    REQUIRE(every.exit_code == 0);
    auto k = nlohmann::json::parse(every.output);
    CHECK(k["findings"].empty());
    CHECK(k["trap_engine"]["replay_token"].is_null());  // not one schedule
}

TEST_CASE("run --json without a guest holds both runs of the pair")
{
    auto r = run_command(without_stderr(cli("run --json -")));
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.output);
    CHECK(j["format"] == "cr3rig-run-pair/1");
    CHECK(j["verdict"] == "PASS");
    REQUIRE(j["runs"].size() == 2);
    CHECK(j["runs"][0]["guest"] == "builtin:lazytlb-buggy");
    CHECK(j["runs"][0]["verdict"] == "FAIL");
    CHECK(j["runs"][1]["verdict"] == "PASS");
}
