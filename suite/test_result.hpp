// The result of one manifest entry, as every report writer sees it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cr3rig::suite {

enum class Outcome { Pass, Fail, Skip };

constexpr std::string_view name_of(Outcome o)
{
    return o == Outcome::Pass ? "PASS" : o == Outcome::Fail ? "FAIL" : "SKIP";
}

struct TestResult {
    std::string name;
    Outcome outcome = Outcome::Skip;
    std::string detail;                       // one line: the guest's SUMMARY, a skip reason, or why it failed
    std::string cause;                        // a failure's kind: fail, bad-input, crash, timeout, signal, exit-status
    std::vector<std::string> guest_failures;  // the guest's own FAIL:/XPASS: lines
    std::optional<int> exit_code;             // of `cr3rig run`; none when it did not run or died of a signal
    double seconds = 0;
    std::string log_path;  // empty when it did not run
    std::string log_tail;  // the last lines of that log
    std::string guest;         // the GUEST argument it ran with
    std::string replay_token;  // a trap-engine run's, when one replays it (`cr3rig replay TOKEN GUEST`)
    std::string inject;        // a trap-engine run's policy ("after-read"); "" without the trap engine

    // What a report names as the reason of a failure: the guest's first FAIL line if
    // it printed one, else the detail.
    const std::string& failure_message() const { return guest_failures.empty() ? detail : guest_failures.front(); }
};

struct Totals {
    size_t passed = 0, failed = 0, skipped = 0;
    double seconds = 0;  // wall time of the whole run
    size_t total() const { return passed + failed + skipped; }
};

Totals count(const std::vector<TestResult>& results, double wall_seconds);

}  // namespace cr3rig::suite
