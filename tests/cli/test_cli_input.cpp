// Bad input to the CLI: a one-line error and exit 2, decided before KVM is touched.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "harness/run_command.hpp"
#include "tests/support/usage_error.hpp"

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
    // Device nodes are refused (/dev/zero would never end); /proc/self/mem reads as nothing.
    check_usage_error("run /dev/zero", "guest image /dev/zero is not a regular file");
    check_usage_error("run /dev/null", "is not a regular file");
    check_usage_error("run /proc/self/mem", "not an ELF image");
    check_usage_error("trace /dev/zero", "trace /dev/zero is not a regular file");
    check_usage_error("test /dev/zero", "manifest /dev/zero is not a regular file");
    std::filesystem::remove_all(dir);
}

TEST_CASE("multiboot boot arguments and ELF64-only commands refuse the wrong image with exit 2")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-mb-test";
    std::filesystem::create_directories(dir);
    auto mb = cr3rig::testing::read_file(CR3RIG_GUEST_DIR "/mb-pass.elf");
    REQUIRE(mb.size() > 0x1100);
    std::ofstream(dir / "cut.elf", std::ios::binary) << mb.substr(0, 0x1100);  // header intact, code cut

    check_usage_error("run --cmdline x builtin:hello", "--cmdline and --env are multiboot boot information");
    check_usage_error("run --env /etc/hostname builtin:hello", "is an ELF64 image");
    check_usage_error("run --env /nonexistent/env builtin:mb-args", "cannot open --env file /nonexistent/env");
    check_usage_error("run --env " + dir.string() + " builtin:mb-args", "is a directory");
    check_usage_error("run " + (dir / "cut.elf").string(), "truncated ELF image");
    check_usage_error("run --inject after-read builtin:mb-pass", "works on ELF64 images only");
    check_usage_error("run --rig-clock 32 builtin:mb-pass", "works on ELF64 images only");
    check_usage_error("run --report /tmp/cr3rig-mb-report.html builtin:mb-pass", "works on ELF64 images only");
    check_usage_error("sites builtin:mb-pass", "cr3rig sites works on ELF64 images only");
    check_usage_error("campaign builtin:mb-pass", "cr3rig campaign works on ELF64 images only");
    std::filesystem::remove_all(dir);
}

TEST_CASE("cr3rig guests lists the multiboot guests with their kind")
{
    auto r = run_command(cli("guests"));
    CHECK(r.exit_code == 0);
    // Each line: builtin:NAME <tab> N bytes <tab> kind <tab> description.
    auto kind_of = [&](const std::string& name) {
        std::string start = "builtin:" + name + "\t";
        size_t at = r.output.find(start);
        if (at == std::string::npos)
            return std::string("(not listed)");
        size_t kind = r.output.find('\t', at + start.size()) + 1;
        return r.output.substr(kind, r.output.find('\t', kind) - kind);
    };
    for (const char* name : {"mb-pass", "mb-fail", "mb-skip", "mb-args", "mb-fwcfg", "mb-timeout", "mb-cr3-switch"})
        CHECK(kind_of(name) == "multiboot");
    CHECK(kind_of("hello") == "ELF64");
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

TEST_CASE("bad test manifests and flags exit 2 with one line, before any test runs")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-test-manifests";
    std::filesystem::create_directories(dir);
    auto manifest = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir / name) << text;
        return (dir / name).string();
    };
    std::string good = manifest("good.cfg", "[a]\nfile = builtin:hello\ngroups = g\n");

    check_usage_error("test", "manifest is required");
    check_usage_error("test /nonexistent/unittests.cfg", "cannot read manifest");
    check_usage_error("test " + manifest("outside.cfg", "file = x\n"), "outside.cfg:1: 'file' outside a [section]");
    check_usage_error("test " + manifest("dup.cfg", "[a]\nfile = x\n[a]\nfile = y\n"), "dup.cfg:3: duplicate section");
    check_usage_error("test " + manifest("nofile.cfg", "[a]\nsmp = 1\n"), "nofile.cfg:1: [a] has no file");
    check_usage_error("test " + manifest("timeout.cfg", "[a]\nfile = x\ntimeout = 1y\n"), "timeout.cfg:3: bad timeout");
    check_usage_error("test " + manifest("noeq.cfg", "[a]\nfile = x\nwhat\n"), "noeq.cfg:3: expected 'key = value'");
    check_usage_error("test " + good + " --only b", "--only b: no entry [b]");
    check_usage_error("test " + good + " --group h", "group h");
    check_usage_error("test " + good + " --timeout 5x", "bad timeout '5x'");
    check_usage_error("test " + good + " -j 0", "jobs");
    check_usage_error("test " + good + " --tap /nonexistent/dir/out.tap", "cannot write --tap");
    check_usage_error("test " + good + " --junit /nonexistent/dir/out.xml", "cannot write --junit");
    std::filesystem::remove_all(dir);
}

TEST_CASE("without a usable KVM device, cr3rig test reports every test skipped and exits 4")
{
    auto logs = std::filesystem::temp_directory_path() / "cr3rig-cli-test-nokvm";
    auto r = run_command("CR3RIG_KVM_DEVICE=/nonexistent/kvm " +
                         cli("test " CR3RIG_SOURCE_DIR "/guest/unittests.cfg --logs " + logs.string()));
    INFO(r.output);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.output, Catch::Contains("SKIP  hello "));
    CHECK_THAT(r.output, Catch::Contains(" s  no usable KVM: cannot open /nonexistent/kvm"));
    CHECK_THAT(r.output, Catch::Contains(" 0 passed, 0 failed, 10 skipped"));
    std::filesystem::remove_all(logs);
}
