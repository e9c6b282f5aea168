// `cr3rig run` and `cr3rig test` refuse option values that make no sense (nan, negative
// counts, sizes, durations) and output paths they cannot use, with one line and exit 2
// before KVM is touched. CR3RIG_KVM_DEVICE=/nonexistent/kvm: a value that got through
// would show as exit 4 (skip) instead.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "harness/run_command.hpp"
#include "tests/support/usage_error.hpp"

using cr3rig::testing::run_command;

namespace {

std::string no_kvm(const std::string& args)
{
    return "CR3RIG_KVM_DEVICE=/nonexistent/kvm " + std::string(CR3RIG_BINARY) + " " + args;
}

void check_usage_error(const std::string& args, const std::string& expected_text)
{
    cr3rig::testing::check_usage_error_of(no_kvm(args), expected_text);
}

}  // namespace

TEST_CASE("run refuses nan, negative and fractional counts, sizes and durations")
{
    check_usage_error("run --timeout nan builtin:hello", "--timeout");
    check_usage_error("run --timeout -1 builtin:hello", "--timeout");
    check_usage_error("run --timeout 0 builtin:hello", "--timeout");
    check_usage_error("run --timeout 2x builtin:hello", "--timeout");
    check_usage_error("run --livelock-abort -1 builtin:lazytlb-buggy", "--livelock-abort");
    check_usage_error("run --livelock-abort nan builtin:lazytlb-buggy", "--livelock-abort");
    check_usage_error("run --livelock-faults -1 builtin:lazytlb-buggy", "--livelock-faults");
    check_usage_error("run --rig-clock -1 builtin:lazytlb-buggy", "--rig-clock");
    check_usage_error("run --rig-clock 1.5 builtin:lazytlb-buggy", "--rig-clock");
    check_usage_error("run --memory -1 builtin:hello", "--memory");
    check_usage_error("run --memory 64.5 builtin:hello", "--memory");
}

TEST_CASE("run --timeout takes the units of test --timeout")
{
    for (const char* timeout : {"30", "30s", "2m", "0.5", "1h"}) {
        auto r = run_command(no_kvm(std::string("run --timeout ") + timeout + " builtin:hello"));
        INFO(timeout << "\n" << r.output);
        CHECK(r.exit_code == 4);  // accepted: the run got as far as KVM
    }
}

TEST_CASE("test refuses nan and negative job counts and timeouts before any test runs")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-test-options";
    std::filesystem::create_directories(dir);
    std::string manifest = (dir / "m.cfg").string();
    std::ofstream(manifest) << "[a]\nfile = builtin:hello\n";
    check_usage_error("test " + manifest + " -j -1", "--jobs");
    check_usage_error("test " + manifest + " -j nan", "--jobs");
    check_usage_error("test " + manifest + " --timeout nan", "--timeout");
    check_usage_error("test " + manifest + " --timeout -5", "--timeout");
    std::filesystem::remove_all(dir);
}

TEST_CASE("run without a guest refuses output paths that are not regular files")
{
    // The pair writes FILE-buggy and FILE-fixed beside the path: not beside a device.
    check_usage_error("run --report /dev/null", "--report /dev/null");
    check_usage_error("run --trace /dev/null", "--trace /dev/null");
    check_usage_error("run --serial-log /dev/null", "--serial-log /dev/null");
    check_usage_error("run --trace /tmp", "--trace /tmp");
}

TEST_CASE("run --help names every option of the synopsis")
{
    auto help = run_command(std::string(CR3RIG_BINARY) + " run --help");
    CHECK(help.exit_code == 0);
    std::string readme = cr3rig::testing::read_file(CR3RIG_SOURCE_DIR "/README.md");
    size_t start = readme.find("```\ncr3rig run ");
    REQUIRE(start != std::string::npos);
    std::string synopsis = readme.substr(start, readme.find("cr3rig sites", start) - start);
    for (const char* option : {"--livelock-abort", "--host-time", "--rig-clock", "--livelock-faults", "--serial-log"}) {
        INFO(option);
        CHECK_THAT(help.output, Catch::Contains(option));
        CHECK_THAT(synopsis, Catch::Contains(option));
    }
}

TEST_CASE("cr3rig test: an entry too long for the OS fails with its reason, the rest run, the reports are whole")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-test-e2big";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "m.cfg") << "[huge]\nfile = builtin:mb-args\ntest_args = " << std::string(200 * 1024, 'x')
                                 << "\n[hello]\nfile = builtin:hello\n";
    std::string tap = (dir / "out.tap").string();
    auto r = run_command(no_kvm("test " + (dir / "m.cfg").string() + " --tap " + tap + " --logs " +
                                (dir / "logs").string()));
    INFO(r.output);
    CHECK(r.exit_code == 1);  // huge failed; hello ran, and skipped without KVM
    CHECK_THAT(r.output, Catch::Contains("FAIL  huge") && Catch::Contains("Argument list too long"));
    CHECK_THAT(r.output, Catch::Contains("SKIP  hello"));
    std::string text = cr3rig::testing::read_file(tap);
    CHECK_THAT(text, Catch::StartsWith("TAP version 13\n1..2\nnot ok 1 - huge\n"));
    CHECK_THAT(text, Catch::Contains("  cause: not-started\n") && Catch::Contains("ok 2 - hello # SKIP"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("run --boot-timeout and --json, and test --boot-timeout and --json, refuse what they cannot use")
{
    check_usage_error("run --boot-timeout nan builtin:hello", "--boot-timeout");
    check_usage_error("run --boot-timeout 0 builtin:hello", "--boot-timeout");
    check_usage_error("run --json /nonexistent/dir/run.json builtin:hello", "cannot write --json /nonexistent/dir/run.json");
    check_usage_error("run --json /nonexistent/dir/pair.json", "cannot write --json /nonexistent/dir/pair.json");
    check_usage_error("test " CR3RIG_SOURCE_DIR "/guest/unittests.cfg --boot-timeout -1", "--boot-timeout");
    check_usage_error("test " CR3RIG_SOURCE_DIR "/guest/unittests.cfg --json /nonexistent/dir/t.json",
                      "cannot write --json /nonexistent/dir/t.json");
}

TEST_CASE("run --json leaves no file it made when the run ends without a verdict, and never removes one that was there")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-run-json";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    // No usable KVM (exit 4): no verdict, no JSON.
    auto skipped = run_command(no_kvm("run --json " + (dir / "new.json").string() + " builtin:hello"));
    CHECK(skipped.exit_code == 4);
    CHECK_FALSE(std::filesystem::exists(dir / "new.json"));
    // A path that was there (an earlier result, a device) is the user's: truncated as
    // opened for writing, never removed.
    std::ofstream(dir / "old.json") << "{}";
    auto again = run_command(no_kvm("run --json " + (dir / "old.json").string() + " builtin:hello"));
    CHECK(again.exit_code == 4);
    CHECK(std::filesystem::exists(dir / "old.json"));
    auto to_null = run_command(no_kvm("run --json /dev/null builtin:hello"));
    CHECK(to_null.exit_code == 4);
    CHECK(std::filesystem::exists("/dev/null"));
}
