// The reports of a suite run: a summary for people, TAP version 13 and JUnit XML for
// machines (docs/suite.md shows each).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "suite/test_result.hpp"

namespace cr3rig::suite {

// One aligned line per test (PASS/FAIL/SKIP, name, time, detail), then the totals.
void write_summary(std::ostream& out, const std::vector<TestResult>& results, const Totals& totals);
std::string summary_line(const TestResult& result, size_t name_width);

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
