// Bad input to the CLI: a one-line error and exit 2, decided before KVM is touched.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../common/run_command.hpp"
#include "../common/usage_error.hpp"

using cr3rig::testing::run_command;

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }

// One line of output, starting "cr3rig", and exit code 2.
void check_usage_error(const std::string& args, const std::string& expected_text)
{
    cr3rig::testing::check_usage_error_of(cli(args), expected_text);
}

}  // namespace

TEST_CASE("unusable guest files exit 2 with one line")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-test";
    std::filesystem::create_directories(dir);
    auto hello = cr3rig::testing::read_file(CR3RIG_GUEST_DIR "/hello.elf");
    REQUIRE(hello.size() > 300);
    std::ofstream(dir / "truncated.elf", std::ios::binary) << hello.substr(0, 300);
    std::ofstream(dir / "empty.elf", std::ios::binary).flush();

    check_usage_error("run " + (dir / "truncated.elf").string(), "truncated ELF image");
    check_usage_error("run " + (dir / "empty.elf").string(), "not an ELF image");
    check_usage_error("run " + dir.string(), "is a directory");
    check_usage_error("run /nonexistent/guest.elf", "cannot open guest image");
    check_usage_error("run builtin:nope", "no built-in guest named 'nope'");
    std::filesystem::remove_all(dir);
}

TEST_CASE("bad flags and values exit 2 with one line")
{
    check_usage_error("run --no-such-flag", "no-such-flag");
    check_usage_error("run --timeout -1 builtin:hello", "timeout");
    check_usage_error("run --memory 1 builtin:hello", "memory");
    check_usage_error("frobnicate", "frobnicate");
    check_usage_error("", "subcommand");
}

TEST_CASE("bad campaign, merge and replay input exits 2 with one line")
{
    check_usage_error("campaign", "guest is required");
    check_usage_error("campaign builtin:nope", "no built-in guest named 'nope'");
    check_usage_error("campaign builtin:hello --shard 4/3", "--shard 4/3");
    check_usage_error("merge /nonexistent/dir", "not a directory");
    check_usage_error("replay not-a-token builtin:hello", "malformed");
    check_usage_error("replay cr3rig1-0123456789abcdef-1-0-32-16 builtin:hello", "made for another guest");
    check_usage_error("run --inject nth:0 builtin:hello", "--inject nth:0");
}

TEST_CASE("help and version exit 0")
{
    auto help = run_command(cli("run --help"));
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.output, Catch::Contains("--timeout"));
    CHECK_THAT(help.output, Catch::Contains("124 timeout"));
    auto version = run_command(cli("--version"));
    CHECK(version.exit_code == 0);
    CHECK_THAT(version.output, Catch::Contains("capstone 4."));
}

TEST_CASE("without a usable KVM device, run exits 4 (skip) and the KVM tests skip")
{
    auto run = run_command("CR3RIG_KVM_DEVICE=/nonexistent/kvm " + cli("run builtin:hello"));
    CHECK(run.exit_code == 4);
    CHECK_THAT(run.output, Catch::Contains("SKIP: no usable KVM: cannot open /nonexistent/kvm"));

    auto tests = run_command("CR3RIG_KVM_DEVICE=/nonexistent/kvm " CR3RIG_KVM_TESTS);
    CHECK(tests.exit_code == 4);
    CHECK_THAT(tests.output, Catch::Contains("SKIP: KVM tests need a usable KVM device (/nonexistent/kvm)"));
}

TEST_CASE("doctor without a usable KVM device says the rig cannot run and exits 4")
{
    auto r = run_command("CR3RIG_KVM_DEVICE=/nonexistent/kvm " + cli("doctor"));
    INFO(r.output);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.output, Catch::Contains("/nonexistent/kvm"));
    CHECK_THAT(r.output, Catch::Contains("UNUSABLE"));
    CHECK_THAT(r.output, Catch::Contains("verdict: cr3rig cannot run here (exit 4)"));
}
