// cr3rig test: run the guest tests a kvm-unit-tests-style manifest lists, each as a
// `cr3rig run` child process, and report them as a summary (with each failure's log
// and the command that reruns it), TAP13, JUnit XML and JSON. The logs of each run go
// to a folder of their own (suite/run_folder.hpp).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "cli/commands.hpp"
#include "cli/option_checks.hpp"
#include "common/errors.hpp"
#include "common/verdict.hpp"
#include "suite/manifest.hpp"
#include "suite/run_folder.hpp"
#include "suite/selection.hpp"
#include "suite/suite_runner.hpp"
#include "suite/writers.hpp"

namespace cr3rig::cli {

namespace {

struct TestArgs {
    std::string manifest;
    unsigned jobs = 1;
    suite::Filters filters;
    std::string timeout;      // a duration as in the manifest: "90", "2m"
    std::string max_timeout;  // caps every entry's timeout, its own included
    std::string boot_timeout;  // no console output this long fails an entry
    std::string tap, junit, json;
    std::string logs = "logs";  // each run gets a folder in it
};

// Opened before any test runs, so that an unwritable path costs nothing.
struct ReportFile {
    std::string path;
    std::ofstream out;
};

std::optional<ReportFile> open_report(const std::string& path, const char* flag)
{
    if (path.empty())
        return std::nullopt;
    std::ofstream out(path);
    if (!out)
        throw BadInput(std::string("cannot write ") + flag + " " + path);
    return ReportFile{path, std::move(out)};
}

// Past the check before the run, a report that cannot be written is the host's I/O
// (a full disk): exit 3, naming the file.
void check_written(std::optional<ReportFile>& report)
{
    if (report && !report->out.flush())
        throw std::runtime_error("cannot write " + report->path);
}

// 0 nothing failed and something passed, 1 something failed, 4 everything was skipped
// (kselftest's skip: nothing ran, e.g. without a usable KVM); after SIGINT or SIGTERM
// the shell's code for death by that signal, 128 + N (130, 143).
int suite_exit_code(const suite::Totals& t, int interrupted_by)
{
    if (interrupted_by)
        return 128 + interrupted_by;
    return exit_code_of(t.failed ? VerdictKind::Fail : t.passed ? VerdictKind::Pass : VerdictKind::Skip);
}

std::string interruption_note(int signal, size_t finished, size_t planned)
{
    if (!signal)
        return {};
    return std::string("interrupted by ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ": " +
           std::to_string(planned - finished) + " of " + std::to_string(planned) + " tests did not finish";
}

// This binary: each test runs with it, and the rerun commands name it, as `cr3rig`
// where that is what PATH finds.
std::string this_binary() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

std::string binary_for_people(const std::string& binary)
{
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "";
    for (size_t start = 0, end; start <= dirs.size(); start = end + 1) {
        end = std::min(dirs.find(':', start), dirs.size());
        std::error_code ec;
        auto candidate = std::filesystem::path(dirs.substr(start, end - start)) / "cr3rig";
        if (end > start && std::filesystem::exists(candidate, ec))
            return std::filesystem::equivalent(candidate, binary, ec) ? "cr3rig" : binary;
    }
    return binary;
}

// The suite's command with what changes a test's result (the deadlines); the rerun
// of one test adds --only NAME.
suite::Rerun rerun_of(const TestArgs& args)
{
    suite::Rerun rerun{{binary_for_people(this_binary()), "test", args.manifest}};
    for (const auto& [flag, value] : {std::pair{"--timeout=", &args.timeout}, std::pair{"--max-timeout=", &args.max_timeout},
                                      std::pair{"--boot-timeout=", &args.boot_timeout}})
        if (!value->empty())
            rerun.test_argv.push_back(flag + *value);
    return rerun;
}

// Colour only for a terminal, and never when NO_COLOR is set (no-color.org).
bool colour_on(int fd)
{
    const char* no_color = std::getenv("NO_COLOR");
    return ::isatty(fd) && !(no_color && *no_color);
}

suite::RunnerOptions runner_options(const TestArgs& args, const suite::Manifest& manifest, size_t planned,
                                    const std::filesystem::path& log_dir)
{
    suite::RunnerOptions options;
    options.cr3rig = this_binary();
    options.manifest_dir = manifest.directory();
    options.log_dir = log_dir;
    options.jobs = args.jobs;
    if (!args.timeout.empty())
        options.default_timeout_s = parse_duration_option(args.timeout);
    if (!args.max_timeout.empty())
        options.max_timeout_s = parse_duration_option(args.max_timeout);
    if (!args.boot_timeout.empty())
        options.boot_timeout_s = parse_duration_option(args.boot_timeout);
    bool tty = ::isatty(2);
    options.on_result = [tty, planned, finished = size_t{0}](const suite::TestResult& r) mutable {
        finished++;
        std::fprintf(stderr, tty ? "\r\033[Kcr3rig: [%zu/%zu] %s %s" : "cr3rig: [%zu/%zu] %s %s\n", finished, planned,
                     std::string(suite::name_of(r.outcome)).c_str(), r.name.c_str());
    };
    return options;
}

int run_suite(const TestArgs& args)
{
    suite::Manifest manifest = suite::load_manifest(args.manifest);
    std::vector<suite::PlannedTest> planned = suite::select_tests(manifest, args.filters);
    auto tap = open_report(args.tap, "--tap");
    auto junit = open_report(args.junit, "--junit");
    auto json = open_report(args.json, "--json");
    std::filesystem::path log_dir = suite::new_run_folder(args.logs, std::time(nullptr));
    auto results_json = open_report((log_dir / "results.json").string(), "the run's results.json");

    auto start = std::chrono::steady_clock::now();
    suite::SuiteRun run = suite::run_tests(planned, runner_options(args, manifest, planned.size(), log_dir));
    if (::isatty(2))
        std::fprintf(stderr, "\r\033[K");
    suite::Totals totals =
        suite::count(run.results, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    std::string note = interruption_note(run.interrupted_by, run.results.size(), planned.size());

    suite::Rerun rerun = rerun_of(args);
    bool colour = colour_on(1);
    suite::write_summary(std::cout, run.results, totals, colour);
    suite::write_failures(std::cout, run.results, rerun, colour);
    std::cout << "logs: " << log_dir.string() << "/ (NAME.log and NAME.json per test, results.json; "
              << (std::filesystem::path(args.logs) / "latest").string() << " is the newest run)\n";
    if (!note.empty())
        std::fprintf(stderr, "cr3rig: %s\n", note.c_str());
    if (tap)
        suite::write_tap(tap->out, run.results, note);
    if (junit)
        suite::write_junit(junit->out, manifest.suite_name(), run.results, totals, note);
    for (auto* report : {&json, &results_json})
        if (*report)
            suite::write_json((*report)->out, manifest.suite_name(), run.results, totals, rerun, log_dir.string(), note);
    check_written(tap);
    check_written(junit);
    check_written(json);
    check_written(results_json);
    return suite_exit_code(totals, run.interrupted_by);
}

}  // namespace

void add_test_command(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<TestArgs>();
    auto* cmd = app.add_subcommand("test", "Run the guest tests of a kvm-unit-tests-style manifest (unittests.cfg)");
    cmd->add_option("manifest", args->manifest, "The manifest: [name] sections with file = GUEST, ...")->required();
    cmd->add_option("-j,--jobs", args->jobs, "Tests to run at once")
        ->check(whole_number())
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    // One value per flag, so that `--group smoke MANIFEST` leaves MANIFEST alone.
    cmd->add_option("--group,-g", args->filters.groups, "Run only the entries in this group (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--only", args->filters.only, "Run only the entry with this name (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--timeout", args->timeout,
                    "Timeout of entries without one, in seconds or with s/m/h/d (default 90s, as kvm-unit-tests)")
        ->check(duration());
    cmd->add_option("--max-timeout", args->max_timeout,
                    "Cap every entry's timeout, its own `timeout =` included (for a CI budget); a test stopped at "
                    "the cap says so in its detail")
        ->check(duration());
    cmd->add_option("--boot-timeout", args->boot_timeout,
                    "Fail an entry fast when its guest prints nothing on the console this long after the start "
                    "(\"no output from the guest in N s\"), in seconds or with s/m/h/d")
        ->check(duration());
    cmd->add_option("--tap", args->tap, "Write the results as TAP version 13 to this file");
    cmd->add_option("--junit", args->junit, "Write the results as JUnit XML to this file");
    cmd->add_option("--json", args->json,
                    "Write the results as one JSON object to this file (per test: name, verdict, exit code, "
                    "seconds, reason, log, replay token, rerun command)");
    cmd->add_option("--logs", args->logs,
                    "Directory for the logs: each run makes a new folder in it, run-YYYYMMDD-HHMMSS, with NAME.log "
                    "and NAME.json per test and results.json; LOGS/latest links to the newest")
        ->capture_default_str();
    cmd->footer(
        "Exit codes: 0 nothing failed, 1 a test failed, 2 usage or bad manifest, 3 a report could not be\n"
        "written, 4 every test was skipped, 130/143 stopped by SIGINT/SIGTERM (the running tests are ended,\n"
        "the reports list those that finished). docs/suite.md describes the manifest and the reports.");
    cmd->callback([args, exit_code] { *exit_code = run_suite(*args); });
}

}  // namespace cr3rig::cli
