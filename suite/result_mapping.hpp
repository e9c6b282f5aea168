// From how `cr3rig run` ended, and its log, to PASS/FAIL/SKIP with a detail, the way
// kvm-unit-tests' runtime.bash maps its run script's status (table in docs/suite.md):
// 0 pass, 4 skip (kselftest's code: the guest skipped, or `run` could not give what the
// entry asks for, a -cpu model or vCPUs, and said why on its last `cr3rig: ` line),
// 124 a timeout, death by a signal, and every other status a failure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "suite/test_result.hpp"

namespace cr3rig::suite {

struct ChildExit {
    std::optional<int> exit_code;  // set when the child exited
    std::optional<int> signal;     // set when a signal ended it
    bool killed_by_runner = false;  // it outlived its deadline and the runner killed it
};

// Fills outcome, detail, cause, guest_failures and exit_code.
TestResult map_child_result(std::string name, const ChildExit& how, std::string_view log, std::string_view guest,
                            double timeout_s);

// "90s", "1.5s": a timeout as the reports print it.
std::string format_seconds(double seconds);

}  // namespace cr3rig::suite
