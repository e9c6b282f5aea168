// What a test's log says beyond its exit code: the guest's kvm-unit-tests-style lines
// on the console (PASS:, FAIL:, SKIP:, XFAIL:, XPASS:, SUMMARY:) and cr3rig's own
// lines on stderr ("cr3rig: GUEST: VERDICT: reason [t ms]", "cr3rig: error: ...").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cr3rig::suite {

struct GuestReport {
    std::string summary;                // text of the last SUMMARY: line
    std::vector<std::string> failures;  // FAIL: and XPASS: (an unexpected pass) lines, whole
    unsigned passed = 0, failed = 0, skipped = 0, expected_failures = 0;
    std::string verdict_reason;         // from cr3rig's verdict line for `guest`
    std::string last_rig_message;       // cr3rig's last own line, without "cr3rig: "
};

// `log` is a test's stdout and stderr; `guest` the GUEST argument it ran with.
GuestReport parse_guest_report(std::string_view log, std::string_view guest);

// The last `max_lines` lines of a log (at most `max_bytes`), for reports.
std::string log_tail(std::string_view log, size_t max_lines = 40, size_t max_bytes = 8192);

}  // namespace cr3rig::suite
