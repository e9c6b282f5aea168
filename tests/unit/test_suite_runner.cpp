// The runner of `cr3rig test` on a stand-in for `cr3rig run` (tests/suite/fake-cr3rig.sh),
// so that child processes, logs, kills and -j are tested without KVM.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "harness/run_command.hpp"
#include "suite/manifest.hpp"
#include "suite/selection.hpp"
#include "suite/suite_runner.hpp"

using namespace cr3rig::suite;
using cr3rig::testing::read_file;

namespace {

const char* kFake = CR3RIG_SOURCE_DIR "/tests/suite/fake-cr3rig.sh";

std::filesystem::path fresh_dir(const std::string& name)
{
    auto dir = std::filesystem::temp_directory_path() / ("cr3rig-suite-runner-" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

struct Run {
    Manifest manifest;
    std::vector<TestResult> results;
    std::vector<std::string> reported;  // names, in the order on_result saw them
    std::filesystem::path logs;

    const TestResult& operator[](const std::string& name) const
    {
        for (const auto& r : results)
            if (r.name == name)
                return r;
        throw std::runtime_error("no result " + name);
    }
};

Run run_manifest(const std::string& text, const std::filesystem::path& dir, unsigned jobs,
                 std::optional<double> max_timeout_s = std::nullopt)
{
    Run run{parse_manifest(text, dir / "suite.cfg"), {}, {}, dir / "logs"};
    RunnerOptions options;
    options.cr3rig = kFake;
    options.manifest_dir = run.manifest.directory();
    options.log_dir = run.logs;
    options.jobs = jobs;
    options.kill_grace_s = 0.2;
    options.max_timeout_s = max_timeout_s;
    options.on_result = [&](const TestResult& r) { run.reported.push_back(r.name); };
    run.results = run_tests(select_tests(run.manifest, {}), options).results;
    return run;
}

}  // namespace

TEST_CASE("the runner runs each entry as a child and maps how it ended", "[suite]")
{
    auto dir = fresh_dir("map");
    Run run = run_manifest(R"(
[pass]
file = builtin:pass
[fail]
file = builtin:fail
[skip]
file = builtin:skip
[timeout]
file = builtin:timeout
timeout = 7
[hang]
file = builtin:hang
timeout = 0.3s
[segv]
file = builtin:segv
[args]
file = builtin:pass
test_args = -a  "b c"
[relative]
file = sub/guest.elf
[smp]
file = builtin:pass
smp = 2
[checked]
file = builtin:pass
check = /nonexistent/cr3rig/param=Y
[cannot]
file = builtin:pass
qemu_params = -cpu nope,+x
)",
                           dir, 3);

    REQUIRE(run.results.size() == 11);
    std::vector<std::string> order;
    for (const auto& r : run.results)
        order.push_back(r.name);
    CHECK(order == std::vector<std::string>{"pass", "fail", "skip", "timeout", "hang", "segv", "args", "relative", "smp",
                                            "checked", "cannot"});
    CHECK(run.reported.size() == 11);

    CHECK(run["pass"].outcome == Outcome::Pass);
    CHECK(run["pass"].detail == "1 tests");
    CHECK(run["pass"].exit_code == 0);
    CHECK(run["fail"].outcome == Outcome::Fail);
    CHECK(run["fail"].failure_message() == "FAIL: two");
    CHECK(run["skip"].outcome == Outcome::Skip);
    CHECK(run["skip"].detail == "no usable KVM: fake");
    CHECK(run["timeout"].detail == "timeout; duration=7s");
    CHECK(run["hang"].outcome == Outcome::Fail);
    CHECK(run["hang"].detail == "timeout; duration=0.3s, killed by the runner");
    CHECK_FALSE(run["hang"].exit_code);
    CHECK(run["segv"].detail == "terminated on SIGSEGV");
    CHECK(run["relative"].detail == "bad input: cannot open guest image " + (dir / "sub/guest.elf").string());
    CHECK(run["smp"].outcome == Outcome::Pass);
    CHECK_THAT(read_file((run.logs / "smp.log").string()), Catch::Contains("fake: timeout=90 memory=128 smp=2 cpu= "));
    CHECK(run["checked"].outcome == Outcome::Skip);
    CHECK(run["checked"].detail == "/nonexistent/cr3rig/param not equal to Y");
    CHECK(run["checked"].log_path.empty());
    // What `cr3rig run` cannot give (exit 4) is a SKIP with its reason.
    CHECK(run["cannot"].outcome == Outcome::Skip);
    CHECK(run["cannot"].detail == "-cpu nope,+x: no such CPU model");

    // Each run's stdout and stderr in LOGDIR/NAME.log, after the command that ran.
    std::string log = read_file((run.logs / "args.log").string());
    CHECK_THAT(log, Catch::StartsWith("cr3rig test: running " + std::string(kFake) +
                                      " run --timeout=90 --memory=128 '--cmdline=-a b c' --json=" +
                                      (run.logs / "args.json").string() + " -- builtin:pass\n"));
    CHECK_THAT(log, Catch::Contains("fake: timeout=90 memory=128 smp=1 cpu= cmdline=-a b c\n"));
    CHECK(run["args"].log_path == (run.logs / "args.log").string());
    CHECK_THAT(read_file((run.logs / "fail.log").string()), Catch::Contains("cr3rig: builtin:fail: FAIL:"));
    CHECK_FALSE(std::filesystem::exists(run.logs / "checked.log"));
}

TEST_CASE("a test stopped at --max-timeout says that the cap applied", "[suite]")
{
    auto dir = fresh_dir("cap");
    Run run = run_manifest("[capped]\nfile = builtin:timeout\ntimeout = 7\n[under]\nfile = builtin:timeout\ntimeout = 2\n",
                           dir, 1, 3);
    CHECK(run["capped"].detail == "timeout; duration=3s (--max-timeout; the entry's timeout is 7s)");
    CHECK_THAT(read_file((run.logs / "capped.log").string()), Catch::Contains(" run --timeout=3 "));
    CHECK(run["under"].detail == "timeout; duration=2s");
}

TEST_CASE("with jobs = 2 the runner runs two tests at once", "[suite]")
{
    // meet-a and meet-b each pass only once the other has started.
    auto dir = fresh_dir("jobs");
    ::setenv("FAKE_CR3RIG_DIR", dir.c_str(), 1);
    Run run = run_manifest("[a]\nfile = builtin:meet-a\n[b]\nfile = builtin:meet-b\n", dir, 2);
    INFO(read_file((run.logs / "a.log").string()) << read_file((run.logs / "b.log").string()));
    CHECK(run["a"].outcome == Outcome::Pass);
    CHECK(run["b"].outcome == Outcome::Pass);
}

TEST_CASE("the child's command line: --cmdline only with arguments, paths resolved", "[suite]")
{
    ManifestEntry plain, with_args;
    plain.file = "builtin:hello";
    with_args.file = "guests/x.elf";
    with_args.cmdline = "-v one";
    RunnerOptions options;
    options.cr3rig = "/bin/cr3rig";
    options.manifest_dir = "/m";
    options.log_dir = "/logs/run-1";
    plain.name = "plain";
    with_args.name = "with-args";
    CHECK(child_command(options, plain, 90) == std::vector<std::string>{"/bin/cr3rig", "run", "--timeout=90",
                                                                        "--memory=128", "--json=/logs/run-1/plain.json",
                                                                        "--", "builtin:hello"});
    CHECK(child_command(options, with_args, 2.5) ==
          std::vector<std::string>{"/bin/cr3rig", "run", "--timeout=2.5", "--memory=128", "--cmdline=-v one",
                                   "--json=/logs/run-1/with-args.json", "--", "/m/guests/x.elf"});
    // --boot-timeout for every entry; cr3rig_params' trap-engine options as written.
    options.boot_timeout_s = 5;
    plain.rig_params = {"--inject", "nth:2:0", "--trap-backend=port"};
    CHECK(child_command(options, plain, 90) ==
          std::vector<std::string>{"/bin/cr3rig", "run", "--timeout=90", "--boot-timeout=5", "--memory=128", "--inject",
                                   "nth:2:0", "--trap-backend=port", "--json=/logs/run-1/plain.json", "--",
                                   "builtin:hello"});
    CHECK(guest_argument("/abs/g.elf", "/m") == "/abs/g.elf");
    CHECK(guest_argument("../g.elf", "/m/sub") == "/m/g.elf");
}

TEST_CASE("an unusable log directory is BadInput", "[suite]")
{
    auto dir = fresh_dir("badlogs");
    std::ofstream(dir / "file") << "x";
    Manifest m = parse_manifest("[a]\nfile = builtin:pass\n", dir / "s.cfg");
    RunnerOptions options;
    options.cr3rig = kFake;
    options.log_dir = dir / "file" / "logs";
    CHECK_THROWS_WITH(run_tests(select_tests(m, {}), options), Catch::Contains("cannot make the log directory"));
}

TEST_CASE("an entry whose command line is too long for the OS fails with the reason, the others run", "[suite]")
{
    // One argument may hold at most 128 KiB (MAX_ARG_STRLEN): exec fails with E2BIG.
    auto dir = fresh_dir("e2big");
    Run run = run_manifest("[huge]\nfile = builtin:pass\ntest_args = " + std::string(200 * 1024, 'x') +
                               "\n[pass]\nfile = builtin:pass\n",
                           dir, 1);
    REQUIRE(run.results.size() == 2);
    CHECK(run["huge"].outcome == Outcome::Fail);
    CHECK(run["huge"].cause == "not-started");
    CHECK_THAT(run["huge"].detail, Catch::Contains("Argument list too long") && Catch::Contains("bytes"));
    CHECK_THAT(read_file((run.logs / "huge.log").string()), Catch::Contains("Argument list too long"));
    CHECK(run["pass"].outcome == Outcome::Pass);
    CHECK(run.reported == std::vector<std::string>{"huge", "pass"});
}

TEST_CASE("SIGTERM to the runner ends its children and keeps the results that finished", "[suite]")
{
    // -j 2: pass and hang start together; when pass ends, the runner gets SIGTERM (from
    // on_result, so no timing is involved). hang must be ended, not waited for (it
    // ignores its deadline of 1000 s), and `later` must never start.
    auto dir = fresh_dir("sigterm");
    Manifest manifest =
        parse_manifest("[pass]\nfile = builtin:pass\n[hang]\nfile = builtin:hang\ntimeout = 1000\n[later]\n"
                       "file = builtin:pass\n",
                       dir / "suite.cfg");
    RunnerOptions options;
    options.cr3rig = kFake;
    options.manifest_dir = manifest.directory();
    options.log_dir = dir / "logs";
    options.jobs = 2;
    options.kill_grace_s = 0.2;
    options.on_result = [](const TestResult& r) {
        if (r.name == "pass")
            ::raise(SIGTERM);
    };
    struct sigaction before {};
    ::sigaction(SIGTERM, nullptr, &before);
    SuiteRun run = run_tests(select_tests(manifest, {}), options);
    CHECK(run.interrupted_by == SIGTERM);
    REQUIRE(run.results.size() == 1);
    CHECK(run.results[0].name == "pass");
    CHECK_FALSE(std::filesystem::exists(dir / "logs" / "later.log"));
    // The handler is the caller's again.
    struct sigaction now {};
    ::sigaction(SIGTERM, nullptr, &now);
    CHECK(now.sa_handler == before.sa_handler);
}
