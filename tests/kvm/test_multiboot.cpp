// The multiboot guests (guest/multiboot) on real KVM: through the library (verdicts,
// console, boot arguments) and through `cr3rig run` (exit codes, --cmdline, --env).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/errors.hpp"
#include "harness/run_command.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/runner.hpp"

using namespace cr3rig;
using cr3rig::testing::run_command;

namespace {

std::string image_path(const std::string& name) { return std::string(CR3RIG_GUEST_DIR "/") + name + ".elf"; }

RunResult run(const std::string& name, RunOptions options = {})
{
    auto image = parse_boot_image(read_file_bytes(image_path(name), "guest image"));
    REQUIRE(image->kind() == "multiboot");
    if (options.cmdline.empty())
        options.cmdline = name;
    return run_guest(*image, options);
}

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " run " + args; }

// A file that lives as long as the test.
struct TempFile {
    std::filesystem::path path;
    TempFile(const std::string& name, const std::string& text)
        : path(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid())))
    {
        std::ofstream(path) << text;
    }
    ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("mb-pass boots through its own long mode and passes")
{
    RunResult r = run("mb-pass");
    INFO(r.verdict.reason << "\n" << r.console);
    CHECK(r.verdict.kind == VerdictKind::Pass);
    CHECK(r.verdict.guest_status == 0u);
    CHECK(r.console ==
          "PASS: started with a command line\nPASS: memory info from the loader\n"
          "SUMMARY: 2 tests, 0 unexpected failures\n");
}

TEST_CASE("mb-fail fails with exit code 1 and says which check failed")
{
    RunResult r = run("mb-fail");
    CHECK(r.verdict.kind == VerdictKind::Fail);
    CHECK(r.verdict.guest_status == 1u);
    CHECK_THAT(r.console, Catch::Contains("FAIL: this check fails on purpose\n"));
    CHECK_THAT(r.console, Catch::Contains("SUMMARY: 2 tests, 1 unexpected failures\n"));
}

TEST_CASE("mb-skip exits 77 and is skipped")
{
    RunResult r = run("mb-skip");
    CHECK(r.verdict.kind == VerdictKind::Skip);
    CHECK(r.verdict.guest_status == 77u);
    CHECK_THAT(r.verdict.reason, Catch::Contains("status 155"));
    CHECK_THAT(r.console, Catch::Contains("SKIP: needs hardware"));
}

TEST_CASE("mb-cr3-switch, cr3_switch.c as a multiboot image, switches CR3 to the end and passes")
{
    RunResult r = run("mb-cr3-switch");
    INFO(r.verdict.reason << "\n" << r.console);
    CHECK(r.verdict.kind == VerdictKind::Pass);
    CHECK(r.console == "cr3-switch: done\n");
}

TEST_CASE("mb-timeout ends at the deadline")
{
    RunOptions options;
    options.timeout = std::chrono::milliseconds(500);
    RunResult r = run("mb-timeout", options);
    CHECK(r.verdict.kind == VerdictKind::Timeout);
    CHECK(r.console == "mb-timeout: spinning forever\n");
}

TEST_CASE("mb-fwcfg finds one CPU and the RAM size the multiboot info gives")
{
    for (uint64_t mib : {16, 64, 200}) {
        RunOptions options;
        options.memory_bytes = mib << 20;
        RunResult r = run("mb-fwcfg", options);
        INFO(mib << " MiB\n" << r.console);
        CHECK(r.verdict.kind == VerdictKind::Pass);
        CHECK_THAT(r.console, Catch::Contains("fw_cfg: 1 CPU, RAM " + std::to_string(mib << 20) + " bytes"));
        CHECK_THAT(r.console, Catch::Contains("mem_upper " + std::to_string((mib - 1) * 1024) + " KiB"));
    }
}

TEST_CASE("mb-args gets its arguments from the command line and the environment from the first module")
{
    RunOptions options;
    options.cmdline = "mb-args alpha beta=2";
    options.modules.push_back({"env", {'A', 'N', 'S', 'W', 'E', 'R', '=', '4', '2', '\n', 'X', '=', '1'}});
    RunResult r = run("mb-args", options);
    INFO(r.console);
    CHECK(r.verdict.kind == VerdictKind::Pass);
    CHECK_THAT(r.console, Catch::Contains("argv[0] = mb-args\nargv[1] = alpha\nargv[2] = beta=2\n"));
    CHECK_THAT(r.console, Catch::Contains("env ANSWER=42\nenv X=1\n"));
    CHECK_THAT(r.console, Catch::Contains("PASS: environment ANSWER is 42"));

    options.cmdline = "mb-args alpha beta=3";
    options.modules.clear();
    RunResult wrong = run("mb-args", options);
    CHECK(wrong.verdict.kind == VerdictKind::Fail);
    CHECK_THAT(wrong.console, Catch::Contains("FAIL: argv[2] is beta=2"));
    CHECK_THAT(wrong.console, Catch::Contains("SKIP: environment ANSWER (no environment module)"));
}

TEST_CASE("a multiboot guest's boot information must fit in guest memory")
{
    RunOptions options;
    options.memory_bytes = 2 << 20;
    options.modules.push_back({"big", std::vector<uint8_t>(2 << 20, 'x')});
    CHECK_THROWS_AS(run("mb-pass", options), BadInput);
}

TEST_CASE("cr3rig run gives 0, 1, 4 and 124 for mb-pass, mb-fail, mb-skip and mb-timeout")
{
    auto pass = run_command(cli("builtin:mb-pass"));
    CHECK(pass.exit_code == 0);
    CHECK_THAT(pass.output, Catch::Contains("builtin:mb-pass: PASS"));
    auto fail = run_command(cli("builtin:mb-fail"));
    CHECK(fail.exit_code == 1);
    auto skip = run_command(cli("builtin:mb-skip"));
    CHECK(skip.exit_code == 4);
    CHECK_THAT(skip.output, Catch::Contains("builtin:mb-skip: SKIP: guest exit code 77"));
    auto timeout = run_command(cli("--timeout 1 builtin:mb-timeout"));
    CHECK(timeout.exit_code == 124);
    CHECK_THAT(timeout.output, Catch::Contains("TIMEOUT"));
}

TEST_CASE("cr3rig run --cmdline reaches mb-args after the guest's name")
{
    auto r = run_command(cli("--cmdline 'alpha beta=2' builtin:mb-args"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("argv[0] = builtin:mb-args\nargv[1] = alpha\nargv[2] = beta=2\n"));
    auto none = run_command(cli("builtin:mb-args"));
    CHECK(none.exit_code == 1);
    CHECK_THAT(none.output, Catch::Contains("FAIL: argc is 3"));
}

TEST_CASE("cr3rig run --env hands the file to the guest as its environment")
{
    TempFile env("cr3rig-env", "ANSWER=42\nGREETING=hello\n");
    auto r = run_command(cli("--cmdline 'alpha beta=2' --env " + env.path.string() + " " + image_path("mb-args")));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("env ANSWER=42\nenv GREETING=hello\n"));
    CHECK_THAT(r.output, Catch::Contains("PASS: environment ANSWER is 42"));

    TempFile wrong("cr3rig-env-wrong", "ANSWER=41\n");
    auto w = run_command(cli("--cmdline 'alpha beta=2' --env " + wrong.path.string() + " builtin:mb-args"));
    CHECK(w.exit_code == 1);
    CHECK_THAT(w.output, Catch::Contains("FAIL: environment ANSWER is 42"));
}

TEST_CASE("cr3rig test runs multiboot guests from a manifest, -append as their command line")
{
    TempFile manifest("cr3rig-mb-unittests.cfg",
                      "[mb-pass]\nfile = builtin:mb-pass\n\n"
                      "[mb-fail]\nfile = builtin:mb-fail\n\n"
                      "[mb-skip]\nfile = builtin:mb-skip\n\n"
                      "[mb-args]\nfile = builtin:mb-args\nextra_params = -append 'alpha beta=2'\n");
    auto logs = manifest.path.string() + "-logs";
    auto r = run_command(std::string(CR3RIG_BINARY) + " test " + manifest.path.string() + " --logs " + logs);
    std::filesystem::remove_all(logs);
    INFO(r.output);
    CHECK(r.exit_code == 1);  // mb-fail
    CHECK_THAT(r.output, Catch::Contains("[1/4] PASS mb-pass"));
    CHECK_THAT(r.output, Catch::Contains("[2/4] FAIL mb-fail"));
    CHECK_THAT(r.output, Catch::Contains("[3/4] SKIP mb-skip"));
    CHECK_THAT(r.output, Catch::Contains("[4/4] PASS mb-args"));
    CHECK_THAT(r.output, Catch::Contains("4 tests: 2 passed, 1 failed, 1 skipped"));
}

