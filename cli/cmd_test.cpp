// cr3rig test: run the guest tests a kvm-unit-tests-style manifest lists, each as a
// `cr3rig run` child process, and report them as a summary, TAP13 and JUnit XML.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "common/errors.hpp"
#include "common/verdict.hpp"
#include "suite/duration.hpp"
#include "suite/manifest.hpp"
#include "suite/selection.hpp"
#include "suite/suite_runner.hpp"
#include "suite/writers.hpp"

namespace cr3rig::cli {

namespace {

struct TestArgs {
    std::string manifest;
    unsigned jobs = 1;
    suite::Filters filters;
    std::string timeout;  // a duration as in the manifest: "90", "2m"
    std::string tap, junit;
    std::string logs = "logs";
};

// Opened before any test runs, so that an unwritable path costs nothing.
std::optional<std::ofstream> open_report(const std::string& path, const char* flag)
{
    if (path.empty())
        return std::nullopt;
    std::ofstream out(path);
    if (!out)
        throw BadInput(std::string("cannot write ") + flag + " " + path);
    return out;
}

// 0 nothing failed and something passed, 1 something failed, 4 everything was skipped
// (kselftest's skip: nothing ran, e.g. without a usable KVM).
int suite_exit_code(const suite::Totals& t)
{
    return exit_code_of(t.failed ? VerdictKind::Fail : t.passed ? VerdictKind::Pass : VerdictKind::Skip);
}

int run_suite(const TestArgs& args)
{
    suite::Manifest manifest = suite::load_manifest(args.manifest);
    std::vector<suite::PlannedTest> planned = suite::select_tests(manifest, args.filters);
    auto tap = open_report(args.tap, "--tap");
    auto junit = open_report(args.junit, "--junit");

    suite::RunnerOptions options;
    options.cr3rig = std::filesystem::read_symlink("/proc/self/exe").string();
    options.manifest_dir = manifest.directory();
    options.log_dir = args.logs;
    options.jobs = args.jobs;
    if (!args.timeout.empty())
        options.default_timeout_s = suite::parse_duration(args.timeout);
    size_t finished = 0;
    bool tty = ::isatty(2);
    options.on_result = [&](const suite::TestResult& r) {
        finished++;
        std::fprintf(stderr, tty ? "\r\033[Kcr3rig: [%zu/%zu] %s %s" : "cr3rig: [%zu/%zu] %s %s\n", finished, planned.size(),
                     std::string(suite::name_of(r.outcome)).c_str(), r.name.c_str());
    };

    auto start = std::chrono::steady_clock::now();
    std::vector<suite::TestResult> results = suite::run_tests(planned, options);
    if (tty)
        std::fprintf(stderr, "\r\033[K");
    suite::Totals totals =
        suite::count(results, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

    suite::write_summary(std::cout, results, totals);
    std::cout << "logs: " << args.logs << "/NAME.log\n";
    if (tap)
        suite::write_tap(*tap, results);
    if (junit)
        suite::write_junit(*junit, manifest.suite_name(), results, totals);
    if ((tap && !tap->flush()) || (junit && !junit->flush()))
        throw BadInput("cannot write the --tap or --junit report");
    return suite_exit_code(totals);
}

}  // namespace

void add_test_command(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<TestArgs>();
    auto* cmd = app.add_subcommand("test", "Run the guest tests of a kvm-unit-tests-style manifest (unittests.cfg)");
    cmd->add_option("manifest", args->manifest, "The manifest: [name] sections with file = GUEST, ...")->required();
    cmd->add_option("-j,--jobs", args->jobs, "Tests to run at once")->check(CLI::Range(1, 64))->capture_default_str();
    // One value per flag, so that `--group smoke MANIFEST` leaves MANIFEST alone.
    cmd->add_option("--group,-g", args->filters.groups, "Run only the entries in this group (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--only", args->filters.only, "Run only the entry with this name (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--timeout", args->timeout,
                    "Timeout of entries without one, in seconds or with s/m/h/d (default 90s, as kvm-unit-tests)");
    cmd->add_option("--tap", args->tap, "Write the results as TAP version 13 to this file");
    cmd->add_option("--junit", args->junit, "Write the results as JUnit XML to this file");
    cmd->add_option("--logs", args->logs, "Directory for the per-test logs, NAME.log")->capture_default_str();
    cmd->footer(
        "Exit codes: 0 nothing failed, 1 a test failed, 2 usage or bad manifest,\n"
        "4 every test was skipped. docs/suite.md describes the manifest and the reports.");
    cmd->callback([args, exit_code] { *exit_code = run_suite(*args); });
}

}  // namespace cr3rig::cli
