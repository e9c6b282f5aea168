// `cr3rig test` end to end on real guests: our own manifest passes with valid TAP and
// JUnit reports, the negative guests are each reported as FAIL for their reason,
// SIGINT ends the runner's children and leaves valid reports, and each run keeps its
// logs in a folder of its own and ends with every failure's rerun (and replay) command.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/run_command.hpp"
#include "tests/support/junit_check.hpp"
#include "tests/support/line_match.hpp"
#include "tests/support/tap_check.hpp"

using namespace cr3rig::testing;

extern char** environ;

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }

struct SuiteRun {
    std::filesystem::path dir;  // tap, junit and logs/ inside
    CommandResult result;
    std::string tap() const { return (dir / "out.tap").string(); }
    std::string junit() const { return (dir / "out.xml").string(); }
    std::filesystem::path logs() const { return dir / "logs"; }
    std::filesystem::path run_logs() const { return logs() / "latest"; }  // the run's own folder
};

SuiteRun run_suite(const std::string& name, const std::string& manifest_and_flags)
{
    SuiteRun run;
    run.dir = std::filesystem::temp_directory_path() / ("cr3rig-kvm-suite-" + name);
    std::filesystem::remove_all(run.dir);
    std::filesystem::create_directories(run.dir);
    run.result = run_command(cli("test " + manifest_and_flags + " --tap " + run.tap() + " --junit " + run.junit() +
                                 " --logs " + run.logs().string()));
    return run;
}

// `output` has a whole line matching `line_regex`.
void check_line(const std::string& output, const std::string& line_regex)
{
    INFO("no line matches " << line_regex);
    CHECK(cr3rig::testing::has_line_matching(output, line_regex));
}

// The TAP file, checked against the grammar; failures name each broken line.
TapCheck checked_tap(const SuiteRun& run)
{
    std::string text = read_file(run.tap());
    INFO(text);
    TapCheck tap = check_tap13(text);
    for (const auto& e : tap.errors)
        UNSCOPED_INFO(e);
    CHECK(tap.ok());
    return tap;
}

}  // namespace

TEST_CASE("cr3rig test guest/unittests.cfg passes, with valid TAP and JUnit reports")
{
    SuiteRun run = run_suite("own", CR3RIG_SOURCE_DIR "/guest/unittests.cfg -j 2");
    INFO(run.result.output);
    CHECK(run.result.exit_code == 0);
    const std::string& out = run.result.output;
    check_line(out, R"(PASS  hello +[0-9.]+ s)");
    check_line(out, R"(PASS  report +[0-9.]+ s  5 tests, 1 skipped)");
    // smp = 2 runs as `cr3rig run --smp=2` (every KVM allows two vCPUs).
    check_line(out, R"(PASS  hello-smp2 +[0-9.]+ s)");
    check_line(out, R"(SKIP  hello-arm64 +-  arm64 only)");
    CHECK_THAT(out, Catch::Contains("10 tests: 9 passed, 0 failed, 1 skipped"));
    std::string skipped = "1";

    TapCheck tap = checked_tap(run);
    CHECK(tap.planned == 10);
    CHECK(tap.failed == 0);
    CHECK(tap.skipped == std::stol(skipped));
    CHECK(tap.names.front() == "hello");

    std::string errors;
    REQUIRE(xml_well_formed(run.junit(), &errors));
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@name)") == "unittests");
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@tests)") == "10");
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@failures)") == "0");
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@skipped)") == skipped);
    CHECK(xpath(run.junit(), "count(//testcase/skipped)") == skipped);
    CHECK_THAT(xpath(run.junit(), "string(//testcase[@name=\"hello\"]/system-out)"),
               Catch::Contains("hello from cr3rig guest"));

    CHECK_THAT(read_file((run.run_logs() / "hello.log").string()), Catch::Contains("hello from cr3rig guest\n"));
    CHECK_FALSE(std::filesystem::exists(run.run_logs() / "hello-arm64.log"));
}

TEST_CASE("cr3rig test reports each negative guest as FAIL for its reason and exits 1")
{
    SuiteRun run = run_suite("negative", CR3RIG_SOURCE_DIR "/tests/suite/negative.cfg -j 2");
    INFO(run.result.output);
    CHECK(run.result.exit_code == 1);
    const std::string& out = run.result.output;
    check_line(out, R"(FAIL  fail +[0-9.]+ s  guest assert failed at guest/tests/fail.c:8: answer == 42)");
    check_line(out, R"(FAIL  hang +[0-9.]+ s  timeout; duration=2s)");
    check_line(out, R"(FAIL  triple-fault +[0-9.]+ s  crash: triple fault \(KVM_EXIT_SHUTDOWN\))");
    check_line(out, R"(FAIL  report-fail +[0-9.]+ s  5 tests, 1 unexpected failures, 1 skipped)");
    check_line(out, R"(PASS  hello +[0-9.]+ s)");
    CHECK_THAT(out, Catch::Contains("5 tests: 1 passed, 4 failed, 0 skipped"));

    TapCheck tap = checked_tap(run);
    CHECK(tap.planned == 5);
    CHECK(tap.failed == 4);
    CHECK(tap.yaml_blocks == 4);
    std::string tap_text = read_file(run.tap());
    CHECK_THAT(tap_text, Catch::Contains("  message: \"FAIL: arith: 2 + 2 == 5\"\n"));
    CHECK_THAT(tap_text, Catch::Contains("  cause: timeout\n  exit_code: 124\n"));

    REQUIRE(xml_well_formed(run.junit()));
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@failures)") == "4");
    CHECK(xpath(run.junit(), "string(//testcase[@name=\"triple-fault\"]/failure/@type)") == "crash");
    CHECK(xpath(run.junit(), "string(//testcase[@name=\"hang\"]/failure/@type)") == "timeout");
    CHECK(xpath(run.junit(), "string(//testcase[@name=\"report-fail\"]/failure/@message)") == "FAIL: arith: 2 + 2 == 5");
    CHECK_THAT(xpath(run.junit(), "string(//testcase[@name=\"triple-fault\"]/system-out)"), Catch::Contains("RIP:"));
}

TEST_CASE("cr3rig test resolves files against the manifest and filters by --group and --only")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-kvm-suite-files";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "images");
    std::filesystem::copy_file(CR3RIG_GUEST_DIR "/hello.elf", dir / "images" / "hello.elf");
    std::ofstream(dir / "files.cfg") << "[from-file]\nfile = images/hello.elf\ngroups = a\n"
                                        "[builtin]\nfile = builtin:hello\ngroups = b\n"
                                        "[failing]\nfile = builtin:fail\ngroups = c\n";
    std::string manifest = (dir / "files.cfg").string();

    // Flags before the manifest: each --group takes one value and leaves the manifest.
    SuiteRun group = run_suite("group", "--group a --group b " + manifest);
    INFO(group.result.output);
    CHECK(group.result.exit_code == 0);
    CHECK_THAT(group.result.output, Catch::Contains("PASS  from-file"));
    CHECK_THAT(group.result.output, Catch::Contains("PASS  builtin"));
    CHECK_THAT(group.result.output, !Catch::Contains("failing"));

    SuiteRun only = run_suite("only", manifest + " --only failing");
    INFO(only.result.output);
    CHECK(only.result.exit_code == 1);
    CHECK_THAT(only.result.output, Catch::Contains("1 tests: 0 passed, 1 failed, 0 skipped"));
}

namespace {

// Processes whose command line holds `needle` (cr3rig run children of a test).
std::vector<pid_t> processes_with(const std::string& needle)
{
    std::vector<pid_t> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string cmdline = read_file((entry.path() / "cmdline").string());
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(needle) != std::string::npos)
            out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

// Starts `cr3rig test` with its stderr on a pipe, reads stderr lines until one holds
// `line_part` (no clock involved), sends `signal`, and returns the exit status.
int interrupt_suite(const std::vector<std::string>& argv, const std::string& line_part, int signal, std::string* err)
{
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    std::FILE* in = ::fdopen(fds[0], "r");
    char line[4096];
    bool sent = false;
    while (std::fgets(line, sizeof line, in)) {
        *err += line;
        if (!sent && std::string(line).find(line_part) != std::string::npos) {
            ::kill(pid, signal);
            sent = true;
        }
    }
    std::fclose(in);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("SIGINT to cr3rig test ends its cr3rig run children and leaves valid reports")
{
    // hang ignores the deadline only the runner would enforce (timeout 3571 s, a value
    // no other test uses, so that its child can be found in /proc).
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-kvm-suite-sigint";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "m.cfg") << "[hello]\nfile = builtin:hello\n[hang]\nfile = builtin:hang\ntimeout = 3571\n";
    std::string tap = (dir / "out.tap").string(), junit = (dir / "out.xml").string();
    std::string err;
    int code = interrupt_suite({CR3RIG_BINARY, "test", (dir / "m.cfg").string(), "-j", "2", "--tap", tap, "--junit",
                                junit, "--logs", (dir / "logs").string()},
                               "PASS hello", SIGINT, &err);
    INFO(err);
    auto left = processes_with("--timeout=3571");
    for (pid_t p : left)
        ::kill(p, SIGKILL);  // the old runner left it: do not leave it to the host
    CHECK(left.empty());
    CHECK(code == 130);
    CHECK_THAT(err, Catch::Contains("cr3rig: interrupted by SIGINT: 1 of 2 tests did not finish"));

    std::string tap_text = read_file(tap);
    INFO(tap_text);
    TapCheck check = check_tap13(tap_text);
    CHECK(check.ok());
    CHECK(check.names == std::vector<std::string>{"hello"});
    CHECK_THAT(tap_text, Catch::EndsWith("# interrupted by SIGINT: 1 of 2 tests did not finish\n"));
    REQUIRE(xml_well_formed(junit));
    CHECK(xpath(junit, "string(/testsuites/testsuite/@tests)") == "1");
    std::filesystem::remove_all(dir);
}

TEST_CASE("cr3rig test: a folder per run, failures with log, rerun and replay, --boot-timeout and --json")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-kvm-suite-people";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "m.cfg") << "[hello]\nfile = builtin:hello\n"
                                    "[seed]\nfile = builtin:lazytlb-buggy\ncr3rig_params = --inject nth:2:0\n"
                                    "[silent]\nfile = builtin:silent\ntimeout = 600\n";
    std::string command = cli("test " + (dir / "m.cfg").string() + " -j 2 --boot-timeout 1 --logs " +
                              (dir / "logs").string() + " --json " + (dir / "out.json").string());
    auto first = run_command(command);
    INFO(first.output);
    CHECK(first.exit_code == 1);
    // The silent guest fails at the boot deadline, not after its 600 s.
    check_line(first.output, R"(FAIL  silent +[0-9.]+ s  no output from the guest in 1 s)");
    check_line(first.output, R"(  FAIL seed: stale-cr3-write: at write_cr3 .*)");
    check_line(first.output, R"(    rerun:  \S+ test \S+/m.cfg --boot-timeout=1 --only seed)");
    check_line(first.output, R"(    replay: \S+ replay cr3rig1-[0-9a-f]{16}-2-0-32-16 builtin:lazytlb-buggy)");
    check_line(first.output, R"(    rerun:  \S+ test \S+/m.cfg --boot-timeout=1 --only silent)");
    CHECK_THAT(first.output, !Catch::Contains("--only hello"));  // it passed
    CHECK(first.output.find('\033') == std::string::npos);       // no colour off a terminal

    auto j = nlohmann::json::parse(read_file((dir / "out.json").string()));
    REQUIRE(j["tests"].size() == 3);
    const auto& seed = j["tests"][1];
    CHECK(seed["name"] == "seed");
    CHECK(seed["verdict"] == "FAIL");
    CHECK(seed["exit_code"] == 1);
    CHECK(seed["cause"] == "fail");
    CHECK_THAT(seed["replay_token"].get<std::string>(), Catch::StartsWith("cr3rig1-"));
    CHECK(j["tests"][2]["cause"] == "boot-timeout");
    CHECK(j["tests"][2]["exit_code"] == 124);
    std::filesystem::path first_logs = j["logs"].get<std::string>();
    CHECK_THAT(read_file(seed["log"].get<std::string>()), Catch::Contains("FINDING stale-cr3-write"));
    CHECK(read_file((first_logs / "results.json").string()) == read_file((dir / "out.json").string()));

    // The rerun command, as printed, runs the one test again, into a folder of its own.
    std::string rerun = seed["rerun"];
    auto again = run_command(rerun + " --logs " + (dir / "logs").string());
    INFO(again.output);
    CHECK(again.exit_code == 1);
    CHECK_THAT(again.output, Catch::Contains("1 tests: 0 passed, 1 failed, 0 skipped"));
    auto latest = std::filesystem::read_symlink(dir / "logs" / "latest");
    CHECK(latest != first_logs.filename());
    CHECK(std::filesystem::exists(first_logs / "seed.log"));  // the first run's logs are kept
    CHECK(std::filesystem::exists(first_logs / "hello.log"));
    CHECK_FALSE(std::filesystem::exists(dir / "logs" / latest / "hello.log"));
}
