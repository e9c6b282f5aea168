// `cr3rig test` for people and scripts, without KVM: a log folder per run, the
// failures with their rerun and replay commands, colour, the JSON report, cr3rig's own
// manifest key, and the boot timeout and replay token as the runner reads them from
// a stand-in for `cr3rig run` (tests/suite/fake-cr3rig.sh).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/errors.hpp"
#include "harness/run_command.hpp"
#include "suite/manifest.hpp"
#include "suite/run_folder.hpp"
#include "suite/selection.hpp"
#include "suite/shell_words.hpp"
#include "suite/suite_runner.hpp"
#include "suite/writers.hpp"

using namespace cr3rig::suite;
using cr3rig::BadInput;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name)
{
    auto dir = fs::temp_directory_path() / ("cr3rig-suite-ux-" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

TestResult failed(const std::string& name, const std::string& detail, const std::string& token = {})
{
    TestResult r;
    r.name = name;
    r.outcome = Outcome::Fail;
    r.cause = "fail";
    r.detail = detail;
    r.exit_code = 1;
    r.seconds = 0.5;
    r.log_path = "logs/run-1/" + name + ".log";
    r.guest = "builtin:lazytlb-buggy";
    r.replay_token = token;
    return r;
}

TestResult passed(const std::string& name)
{
    TestResult r;
    r.name = name;
    r.outcome = Outcome::Pass;
    r.exit_code = 0;
    r.log_path = "logs/run-1/" + name + ".log";
    return r;
}

const Rerun kRerun{{"cr3rig", "test", "my tests.cfg", "--timeout=30"}};

}  // namespace

TEST_CASE("each run gets a new log folder and latest points at the newest", "[suite]")
{
    auto dir = fresh_dir("folders");
    std::ofstream(dir / "old.log") << "an earlier run's log, from before run folders\n";
    fs::path first = new_run_folder(dir / "logs", 1'700'000'000);
    std::ofstream(first / "t.log") << "first\n";
    fs::path second = new_run_folder(dir / "logs", 1'700'000'000);  // the same second
    fs::path third = new_run_folder(dir / "logs", 1'700'000'001);
    CHECK(first != second);
    CHECK(second.filename().string() == first.filename().string() + "-2");
    CHECK(third != first);
    CHECK(fs::is_directory(second));
    CHECK(cr3rig::testing::read_file((first / "t.log").string()) == "first\n");  // untouched
    CHECK(fs::read_symlink(dir / "logs" / "latest") == third.filename());
    CHECK(fs::exists(dir / "old.log"));
    CHECK(std::distance(fs::directory_iterator(dir / "logs"), fs::directory_iterator()) == 4);  // 3 runs + latest
}

TEST_CASE("a log folder that cannot be made, or a latest that is not a link, is refused with the reason", "[suite]")
{
    auto dir = fresh_dir("badfolder");
    std::ofstream(dir / "file") << "x";
    CHECK_THROWS_WITH(new_run_folder(dir / "file" / "logs", 0), Catch::Contains("cannot make the log directory"));
    fs::create_directories(dir / "logs" / "latest");
    CHECK_THROWS_WITH(new_run_folder(dir / "logs", 0), Catch::Contains("it exists and is not a symbolic link"));
}

TEST_CASE("words are quoted for a shell only where they need it", "[suite]")
{
    CHECK(shell_quote("builtin:hello") == "builtin:hello");
    CHECK(shell_quote("--timeout=30") == "--timeout=30");
    CHECK(shell_quote("my tests.cfg") == "'my tests.cfg'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("$HOME") == "'$HOME'");
    // What split_shell_words reads back is what was quoted.
    std::vector<std::string> argv{"a b", "it's", "", "$x", "plain"};
    CHECK(split_shell_words(command_line(argv)).words == argv);
}

TEST_CASE("after the summary each failure has its reason, log, rerun and replay", "[suite]")
{
    std::vector<TestResult> results{passed("hello"), failed("buggy", "stale-cr3-write: at write_cr3", "cr3rig1-aa-2-0-32-16"),
                                    failed("mb-fail", "2 tests, 1 unexpected failures")};
    results[2].guest_failures = {"FAIL: this check fails on purpose"};
    std::ostringstream out;
    write_failures(out, results, kRerun);
    CHECK(out.str() == "\nfailures:\n"
                       "  FAIL buggy: stale-cr3-write: at write_cr3\n"
                       "    log:    logs/run-1/buggy.log\n"
                       "    rerun:  cr3rig test 'my tests.cfg' --timeout=30 --only buggy\n"
                       "    replay: cr3rig replay cr3rig1-aa-2-0-32-16 builtin:lazytlb-buggy\n"
                       "  FAIL mb-fail: FAIL: this check fails on purpose\n"
                       "    log:    logs/run-1/mb-fail.log\n"
                       "    rerun:  cr3rig test 'my tests.cfg' --timeout=30 --only mb-fail\n");
    // A trap-engine run without a token (after-read): why, and that the rerun is its replay.
    TestResult every = failed("every", "stale write");
    every.inject = "after-read";
    std::ostringstream why;
    write_failures(why, {every}, kRerun);
    CHECK_THAT(why.str(), Catch::EndsWith("    replay: no token: --inject after-read is not one campaign schedule "
                                          "(nth:N:K is); the rerun repeats it on the rig clock\n"));
    std::ostringstream none;
    write_failures(none, {passed("hello")}, kRerun);
    CHECK(none.str().empty());
}

TEST_CASE("colour marks the verdicts only when asked for", "[suite]")
{
    std::vector<TestResult> results{passed("hello"), failed("bad", "why")};
    std::ostringstream plain, coloured;
    write_summary(plain, results, count(results, 1.0), false);
    write_summary(coloured, results, count(results, 1.0), true);
    CHECK(plain.str().find('\033') == std::string::npos);
    CHECK_THAT(coloured.str(), Catch::Contains("\033[1;32mPASS\033[0m  hello"));
    CHECK_THAT(coloured.str(), Catch::Contains("\033[1;31mFAIL\033[0m  bad"));
}

TEST_CASE("the JSON report has one object per test with its verdict, reason, log and rerun", "[suite]")
{
    std::vector<TestResult> results{passed("hello"), failed("buggy", "stale write", "cr3rig1-aa-2-0-32-16")};
    std::ostringstream out;
    write_json(out, "unittests", results, count(results, 2.0), kRerun, "logs/run-1");
    auto j = nlohmann::json::parse(out.str());
    CHECK(j["format"] == "cr3rig-test/1");
    CHECK(j["suite"] == "unittests");
    CHECK(j["logs"] == "logs/run-1");
    CHECK(j["passed"] == 1);
    CHECK(j["failed"] == 1);
    CHECK(j["interrupted"].is_null());
    REQUIRE(j["tests"].size() == 2);
    const auto& hello = j["tests"][0];
    CHECK(hello["name"] == "hello");
    CHECK(hello["verdict"] == "PASS");
    CHECK(hello["exit_code"] == 0);
    CHECK(hello["replay_token"].is_null());
    const auto& buggy = j["tests"][1];
    CHECK(buggy["verdict"] == "FAIL");
    CHECK(buggy["exit_code"] == 1);
    CHECK(buggy["seconds"] == 0.5);
    CHECK(buggy["reason"] == "stale write");
    CHECK(buggy["cause"] == "fail");
    CHECK(buggy["log"] == "logs/run-1/buggy.log");
    CHECK(buggy["replay_token"] == "cr3rig1-aa-2-0-32-16");
    CHECK(buggy["rerun"] == "cr3rig test 'my tests.cfg' --timeout=30 --only buggy");
    CHECK(buggy["replay"] == "cr3rig replay cr3rig1-aa-2-0-32-16 builtin:lazytlb-buggy");
}

TEST_CASE("cr3rig_params takes the trap engine's options of cr3rig run, and only those", "[suite]")
{
    Manifest m = parse_manifest("[t]\nfile = builtin:lazytlb-buggy\ncr3rig_params = --inject nth:2:0 --trap-backend=port\n",
                                "m.cfg");
    CHECK(m.entries[0].rig_params == std::vector<std::string>{"--inject", "nth:2:0", "--trap-backend=port"});
    CHECK_THROWS_WITH(parse_manifest("[t]\nfile = builtin:x\ncr3rig_params = --timeout=5\n", "m.cfg"),
                      Catch::Contains("m.cfg:3: cr3rig_params: '--timeout' is not a trap-engine option of cr3rig run"));
    CHECK_THROWS_WITH(parse_manifest("[t]\nfile = builtin:x\ncr3rig_params = --inject $POLICY\n", "m.cfg"),
                      Catch::Contains("expansions are not evaluated"));
}

TEST_CASE("the runner passes --boot-timeout, names the boot timeout and keeps the replay token", "[suite]")
{
    auto dir = fresh_dir("runner");
    Manifest m = parse_manifest("[silent]\nfile = builtin:silent\n"
                                "[token]\nfile = builtin:token\ncr3rig_params = --inject=nth:2:0\n"
                                "[pass]\nfile = builtin:pass\n",
                                dir / "suite.cfg");
    RunnerOptions options;
    options.cr3rig = CR3RIG_SOURCE_DIR "/tests/suite/fake-cr3rig.sh";
    options.manifest_dir = m.directory();
    options.log_dir = dir / "logs";
    options.boot_timeout_s = 2;
    auto results = run_tests(select_tests(m, {}), options).results;
    REQUIRE(results.size() == 3);
    CHECK(results[0].cause == "boot-timeout");
    CHECK(results[0].detail == "no output from the guest in 2 s");
    CHECK_THAT(cr3rig::testing::read_file((dir / "logs" / "silent.log").string()), Catch::Contains("fake: boot=2 "));
    CHECK(results[1].outcome == Outcome::Fail);
    CHECK(results[1].replay_token == "cr3rig1-00000000000000aa-2-0-32-16");
    CHECK(results[1].inject == "nth:2:0");
    CHECK(results[1].guest == "builtin:token");
    CHECK_THAT(cr3rig::testing::read_file((dir / "logs" / "token.log").string()),
               Catch::Contains("rig= --inject=nth:2:0 json=" + (dir / "logs" / "token.json").string()));
    CHECK(results[2].replay_token.empty());  // its run wrote no --json: no token
}
