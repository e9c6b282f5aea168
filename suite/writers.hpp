// The reports of a suite run: a summary for people, TAP version 13 and JUnit XML for
// machines (docs/suite.md shows each).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "suite/test_result.hpp"

namespace cr3rig::suite {

// How one test is run again alone: the suite's own command (the binary, `test`, the
// manifest as given and the options that change a result), plus --only NAME; and, for
// a trap-engine run that has a replay token, `cr3rig replay TOKEN GUEST`.
struct Rerun {
    std::vector<std::string> test_argv;  // {"cr3rig", "test", "guest/unittests.cfg", "--timeout=30", ...}
    std::string test_command(const TestResult& result) const;
    std::string replay_command(const TestResult& result) const;  // "" without a token
};

// One aligned line per test (PASS/FAIL/SKIP, name, time, detail), then the totals.
// `colour`: the verdict in green, red or yellow (ANSI; for a terminal only).
void write_summary(std::ostream& out, const std::vector<TestResult>& results, const Totals& totals,
                   bool colour = false);
std::string summary_line(const TestResult& result, size_t name_width, bool colour = false);

// After the summary, each failure again: its reason, its log and the command that
// reruns it alone (and its replay, where it has one). Nothing when none failed.
void write_failures(std::ostream& out, const std::vector<TestResult>& results, const Rerun& rerun,
                    bool colour = false);

// The results for scripts, one JSON object (README, JSON outputs): the suite, its
// totals and log folder, and per test name, verdict, exit code, seconds, reason,
// cause, log, replay token and rerun command.
void write_json(std::ostream& out, const std::string& suite_name, const std::vector<TestResult>& results,
                const Totals& totals, const Rerun& rerun, const std::string& log_dir,
                const std::string& interruption = {});

// TAP version 13: the plan first, "ok N - name", "not ok N - name" with a YAML block
// (message, severity, cause, exit code, duration, log, the guest's FAIL lines),
// "ok N - name # SKIP reason". A run stopped by a signal lists the tests that
// finished, and `interruption` ("interrupted by SIGINT: ...") as a closing comment.
void write_tap(std::ostream& out, const std::vector<TestResult>& results, const std::string& interruption = {});

// One <testsuite> in <testsuites>: counts, and per test a <testcase> with <failure> or
// <skipped>, and the log's tail in <system-out>; an `interruption` as the suite's
// <system-err>.
void write_junit(std::ostream& out, const std::string& suite_name, const std::vector<TestResult>& results,
                 const Totals& totals, const std::string& interruption = {});

}  // namespace cr3rig::suite
