// `cr3rig test`'s result mapping and reports, on synthetic results: no KVM needed.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "suite/guest_report.hpp"
#include "suite/result_mapping.hpp"
#include "suite/writers.hpp"
#include "suite/xml_text.hpp"
#include "tests/support/junit_check.hpp"
#include "tests/support/tap_check.hpp"

using namespace cr3rig::suite;
using cr3rig::testing::check_tap13;
using cr3rig::testing::xml_well_formed;
using cr3rig::testing::xpath;

namespace {

constexpr const char* kFailLog =
    "cr3rig test: running cr3rig run --timeout=90 -- builtin:report-fail\n"
    "PASS: cr0: paging enabled\n"
    "FAIL: arith: 2 + 2 == 5\n"
    "XFAIL: known bug\n"
    "XPASS: fixed by accident\n"
    "SKIP: smp: one vCPU\n"
    "cr3rig: guest: a log line\n"
    "SUMMARY: 5 tests, 2 unexpected failures, 1 expected failures, 1 skipped\n"
    "cr3rig: builtin:report-fail: FAIL: guest exit code 1 (debug-exit status 3) [8.8 ms]\n";

TestResult mapped(std::optional<int> code, const std::string& log, std::optional<int> signal = {}, bool killed = false)
{
    ChildExit how;
    how.exit_code = code;
    how.signal = signal;
    how.killed_by_runner = killed;
    return map_child_result("t", how, log, "builtin:x", 2.5);
}

// A suite with one of each outcome and text that XML and TAP must carry safely.
std::vector<TestResult> sample_results()
{
    TestResult pass{.name = "hello", .outcome = Outcome::Pass, .detail = "3 tests", .cause = "", .guest_failures = {},
                    .exit_code = 0, .seconds = 0.0123, .log_path = "logs/hello.log", .log_tail = "hello\n",
                    .guest = "", .replay_token = "", .inject = ""};
    TestResult fail{.name = "report-fail", .outcome = Outcome::Fail, .detail = "5 tests, 1 unexpected failures",
                    .cause = "fail", .guest_failures = {"FAIL: a < b && \"c\" > 'd'", "XPASS: \x1b[31mred\x1b[0m"},
                    .exit_code = 1, .seconds = 1.5, .log_path = "logs/report-fail.log",
                    .log_tail = std::string("bell \x07 nul ") + '\0' + " bad utf8 \xff\xfe ]]> & <tag>\r\nend\n",
                    .guest = "",
                    .replay_token = "", .inject = ""};
    TestResult crash{.name = "triple-fault", .outcome = Outcome::Fail, .detail = "crash: triple fault", .cause = "crash",
                     .guest_failures = {}, .exit_code = 3, .seconds = 0.02, .log_path = "logs/tf.log", .log_tail = "",
                     .guest = "", .replay_token = "", .inject = ""};
    TestResult skip{.name = "smp2", .outcome = Outcome::Skip, .detail = "smp = 2 (cr3rig runs one vCPU) # not a directive",
                    .cause = "", .guest_failures = {}, .exit_code = {}, .seconds = 0, .log_path = "", .log_tail = "",
                    .guest = "", .replay_token = "", .inject = ""};
    return {pass, fail, crash, skip};
}

std::filesystem::path temp_file(const std::string& name)
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-suite-reports";
    std::filesystem::create_directories(dir);
    return dir / name;
}

}  // namespace

TEST_CASE("the guest's PASS, FAIL, XFAIL, XPASS, SKIP and SUMMARY lines are read from its log", "[suite]")
{
    GuestReport r = parse_guest_report(kFailLog, "builtin:report-fail");
    CHECK(r.passed == 1);
    CHECK(r.failed == 2);
    CHECK(r.expected_failures == 1);
    CHECK(r.skipped == 1);
    CHECK(r.summary == "5 tests, 2 unexpected failures, 1 expected failures, 1 skipped");
    CHECK(r.failures == std::vector<std::string>{"FAIL: arith: 2 + 2 == 5", "XPASS: fixed by accident"});
    CHECK(r.verdict_reason == "guest exit code 1 (debug-exit status 3)");
    CHECK(r.last_rig_message == "builtin:report-fail: FAIL: guest exit code 1 (debug-exit status 3) [8.8 ms]");
}

TEST_CASE("cr3rig run's exit codes map to PASS, FAIL and SKIP as in kvm-unit-tests", "[suite]")
{
    auto pass = mapped(0, "SUMMARY: 4 tests\n");
    CHECK(pass.outcome == Outcome::Pass);
    CHECK(pass.detail == "4 tests");

    auto fail = mapped(1, kFailLog);
    CHECK(fail.outcome == Outcome::Fail);
    CHECK(fail.cause == "fail");
    CHECK(fail.detail == "5 tests, 2 unexpected failures, 1 expected failures, 1 skipped");
    CHECK(fail.failure_message() == "FAIL: arith: 2 + 2 == 5");

    auto assert_fail = mapped(1, "cr3rig: builtin:x: FAIL: guest assert failed at a.c:8: x == 1 [0.7 ms]\n");
    CHECK(assert_fail.detail == "guest assert failed at a.c:8: x == 1");
    CHECK(assert_fail.failure_message() == assert_fail.detail);

    auto bad = mapped(2, "cr3rig: error: cannot open guest image /x.elf\n");
    CHECK(bad.outcome == Outcome::Fail);
    CHECK(bad.cause == "bad-input");
    CHECK(bad.detail == "bad input: cannot open guest image /x.elf");

    auto crash = mapped(3, "cr3rig: builtin:x: CRASH: triple fault (KVM_EXIT_SHUTDOWN) [1.7 ms]\nRIP: 0008:1\n");
    CHECK(crash.cause == "crash");
    CHECK(crash.detail == "crash: triple fault (KVM_EXIT_SHUTDOWN)");

    auto skip = mapped(4, "cr3rig: SKIP: no usable KVM: /dev/kvm: No such file or directory\n");
    CHECK(skip.outcome == Outcome::Skip);
    CHECK(skip.detail == "no usable KVM: /dev/kvm: No such file or directory");

    // A configuration `cr3rig run` cannot give: exit 4, the reason on its last line.
    auto cannot = mapped(4, "cr3rig: -cpu Opteron_G1,vendor=AuthenticAMD: cannot give vendor\n");
    CHECK(cannot.outcome == Outcome::Skip);
    CHECK(cannot.detail == "-cpu Opteron_G1,vendor=AuthenticAMD: cannot give vendor");

    // kvm-unit-tests' all-skipped guest (debug-exit 38): its summary, else the verdict's reason.
    auto guest_skip = mapped(4, "SKIP: no pcid\nSUMMARY: 1 tests, 1 skipped\n"
                                "cr3rig: builtin:x: SKIP: guest exit code 38 (debug-exit status 77) [3.0 ms]\n");
    CHECK(guest_skip.detail == "1 tests, 1 skipped");
    auto bare_skip = mapped(4, "Dummy\ncr3rig: builtin:x: SKIP: guest exit code 38 (debug-exit status 77) [3.0 ms]\n");
    CHECK(bare_skip.detail == "guest exit code 38 (debug-exit status 77)");

    auto timeout = mapped(124, "hang: spinning\n");
    CHECK(timeout.outcome == Outcome::Fail);
    CHECK(timeout.cause == "timeout");
    CHECK(timeout.detail == "timeout; duration=2.5s");

    auto killed = mapped({}, "", SIGKILL, true);
    CHECK(killed.cause == "timeout");
    CHECK(killed.detail == "timeout; duration=2.5s, killed by the runner");

    auto segv = mapped({}, "", SIGSEGV);
    CHECK(segv.cause == "signal");
    CHECK(segv.detail == "terminated on SIGSEGV");

    auto odd = mapped(77, "cr3rig: something\n");
    CHECK(odd.outcome == Outcome::Fail);
    CHECK(odd.detail == "exit status 77: something");
}

TEST_CASE("log tails keep the last lines", "[suite]")
{
    CHECK(log_tail("a\nb\nc\n", 2) == "b\nc\n");
    CHECK(log_tail("a\nb\nc", 2) == "b\nc");
    CHECK(log_tail("a\nb\n", 5) == "a\nb\n");
    CHECK(log_tail("", 5).empty());
    CHECK(log_tail(std::string(100, 'x'), 5, 10) == std::string(10, 'x'));
}

TEST_CASE("the summary has one aligned line per test and the totals", "[suite]")
{
    auto results = sample_results();
    std::ostringstream out;
    write_summary(out, results, count(results, 2.0));
    std::vector<std::string> lines;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    REQUIRE(lines.size() == 5);
    CHECK(lines[0] == "PASS  hello            0.01 s  3 tests");
    CHECK(lines[1] == "FAIL  report-fail      1.50 s  5 tests, 1 unexpected failures");
    CHECK(lines[3] == "SKIP  smp2                  -  smp = 2 (cr3rig runs one vCPU) # not a directive");
    CHECK(lines[4] == "4 tests: 1 passed, 2 failed, 1 skipped in 2.0 s");
}

TEST_CASE("TAP output follows the TAP13 grammar with a YAML block per failure", "[suite]")
{
    std::ostringstream out;
    write_tap(out, sample_results());
    INFO(out.str());
    auto tap = check_tap13(out.str());
    for (const auto& e : tap.errors)
        UNSCOPED_INFO(e);
    CHECK(tap.ok());
    CHECK(tap.planned == 4);
    CHECK(tap.passed == 2);  // a skip is an "ok"
    CHECK(tap.failed == 2);
    CHECK(tap.skipped == 1);
    CHECK(tap.yaml_blocks == 2);
    CHECK(tap.names == std::vector<std::string>{"hello", "report-fail", "triple-fault", "smp2"});
    CHECK(tap.directives[3] == "SKIP smp = 2 (cr3rig runs one vCPU) # not a directive");
    CHECK_THAT(out.str(), Catch::Contains("  message: \"FAIL: a < b && \\\"c\\\" > 'd'\"\n"));
    CHECK_THAT(out.str(), Catch::Contains("    - \"XPASS: \\u001b[31mred\\u001b[0m\"\n"));
}

TEST_CASE("the TAP checker rejects what breaks the grammar", "[suite]")
{
    auto errors_of = [](const std::string& tap) { return check_tap13(tap).errors.size(); };
    CHECK(errors_of("TAP version 13\n1..1\nok 1 - a\n") == 0);
    CHECK(errors_of("TAP version 13\nok 1 - a\n1..1\n") == 0);  // the plan may come last
    CHECK(errors_of("TAP version 12\n1..1\nok 1 - a\n") > 0);
    CHECK(errors_of("TAP version 13\nok 1 - a\n") > 0);                   // no plan
    CHECK(errors_of("TAP version 13\n1..2\nok 1 - a\n") > 0);             // plan mismatch
    CHECK(errors_of("TAP version 13\n1..2\nok 1 - a\nok 3 - b\n") > 0);   // numbering
    CHECK(errors_of("TAP version 13\n1..1\nok 1 - a # WHATEVER\n") > 0);  // directive
    CHECK(errors_of("TAP version 13\n1..1\nnot ok 1 - a\n  ---\n  message: \"x\"\n") > 0);    // unterminated
    CHECK(errors_of("TAP version 13\n1..1\nnot ok 1 - a\n  ---\nmessage: x\n  ...\n") > 0);  // not indented
    CHECK(errors_of("TAP version 13\n1..1\nnot ok 1 - a\n  ---\n  message: \"x\n  ...\n") > 0);  // bad scalar
    CHECK(errors_of("TAP version 13\n1..1\n  ---\n  message: x\n  ...\nok 1 - a\n") > 0);  // orphan block
    CHECK(errors_of("TAP version 13\n1..1\nBail out! no\n") > 0);
    CHECK(errors_of("TAP version 13\n1..1\nok 1 - a\nstray text\n") > 0);
}

TEST_CASE("JUnit output is well-formed XML whose counts match", "[suite]")
{
    auto results = sample_results();
    auto path = temp_file("junit.xml").string();
    {
        std::ofstream out(path);
        write_junit(out, "unit<&>suite", results, count(results, 2.0));
    }
    std::string errors;
    INFO(cr3rig::testing::read_file(path));
    REQUIRE(xml_well_formed(path, &errors));
    CHECK(errors.empty());
    CHECK(xpath(path, "string(/testsuites/testsuite/@tests)") == "4");
    CHECK(xpath(path, "string(/testsuites/testsuite/@failures)") == "2");
    CHECK(xpath(path, "string(/testsuites/testsuite/@skipped)") == "1");
    CHECK(xpath(path, "string(/testsuites/testsuite/@time)") == "2.000");
    CHECK(xpath(path, "count(//testcase)") == "4");
    CHECK(xpath(path, "count(//testcase/failure)") == "2");
    CHECK(xpath(path, "count(//testcase/skipped)") == "1");
    CHECK(xpath(path, "string(/testsuites/testsuite/@name)") == "unit<&>suite");
    CHECK(xpath(path, "string(//testcase[@name=\"report-fail\"]/@classname)") == "unit<&>suite");
    CHECK(xpath(path, "string(//testcase[@name=\"report-fail\"]/failure/@message)") == "FAIL: a < b && \"c\" > 'd'");
    CHECK(xpath(path, "string(//testcase[@name=\"triple-fault\"]/failure/@type)") == "crash");
    CHECK(xpath(path, "string(//testcase[@name=\"smp2\"]/skipped/@message)") ==
          "smp = 2 (cr3rig runs one vCPU) # not a directive");
    // Control characters and bad UTF-8 arrive as visible characters, the rest intact.
    std::string out = xpath(path, "string(//testcase[@name=\"report-fail\"]/system-out)");
    CHECK_THAT(out, Catch::Contains("bell \u2407 nul \u2400 bad utf8 \uFFFD\uFFFD ]]> & <tag>\r\nend"));
}

TEST_CASE("the JUnit check itself fails on broken XML", "[suite]")
{
    auto path = temp_file("broken.xml").string();
    std::ofstream(path) << "<testsuites><testsuite></testsuites>\n";
    CHECK_FALSE(xml_well_formed(path));
    std::ofstream(path) << "<a>\x01</a>\n";  // a raw control character is not XML 1.0
    CHECK_FALSE(xml_well_formed(path));
}

TEST_CASE("xml_escape escapes markup and replaces what XML 1.0 cannot hold", "[suite]")
{
    CHECK(xml_escape("a<b>&\"'") == "a&lt;b&gt;&amp;\"'");
    CHECK(xml_escape("a\"\t\n", true) == "a&quot;&#9;&#10;");
    CHECK(xml_escape("\x1b[0m") == "\u241b[0m");
    CHECK(xml_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82") == "caf\u00e9 \u20ac \U0001F642");
    CHECK(xml_escape("\xc0\xaf") == "\uFFFD\uFFFD");          // overlong
    CHECK(xml_escape("\xed\xa0\x80") == "\uFFFD\uFFFD\uFFFD");  // a surrogate
    CHECK(xml_escape("\xef\xbf\xbe") == "\uFFFD");              // U+FFFE
    CHECK(xml_escape("\xe2\x82") == "\uFFFD\uFFFD");            // truncated
}
