// `cr3rig test` end to end on real guests: our own manifest passes with valid TAP and
// JUnit reports, and the negative guests are each reported as FAIL for their reason.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "harness/run_command.hpp"
#include "tests/support/junit_check.hpp"
#include "tests/support/line_match.hpp"
#include "tests/support/tap_check.hpp"

using namespace cr3rig::testing;

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }

struct SuiteRun {
    std::filesystem::path dir;  // tap, junit and logs/ inside
    CommandResult result;
    std::string tap() const { return (dir / "out.tap").string(); }
    std::string junit() const { return (dir / "out.xml").string(); }
    std::filesystem::path logs() const { return dir / "logs"; }
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
    check_line(out, R"(SKIP  hello-smp2 +-  smp = 2 \(cr3rig runs one vCPU\))");
    check_line(out, R"(SKIP  hello-arm64 +-  arm64 only \(cr3rig hosts x86_64 guests\))");
    CHECK_THAT(out, Catch::Contains("10 tests: 8 passed, 0 failed, 2 skipped"));

    TapCheck tap = checked_tap(run);
    CHECK(tap.planned == 10);
    CHECK(tap.failed == 0);
    CHECK(tap.skipped == 2);
    CHECK(tap.names.front() == "hello");

    std::string errors;
    REQUIRE(xml_well_formed(run.junit(), &errors));
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@name)") == "unittests");
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@tests)") == "10");
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@failures)") == "0");
    CHECK(xpath(run.junit(), "string(/testsuites/testsuite/@skipped)") == "2");
    CHECK(xpath(run.junit(), "count(//testcase/skipped)") == "2");
    CHECK_THAT(xpath(run.junit(), "string(//testcase[@name=\"hello\"]/system-out)"),
               Catch::Contains("hello from cr3rig guest"));

    CHECK_THAT(read_file((run.logs() / "hello.log").string()), Catch::Contains("hello from cr3rig guest\n"));
    CHECK_FALSE(std::filesystem::exists(run.logs() / "hello-smp2.log"));
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
