// The boot timeout (`--boot-timeout`): a guest that prints nothing on its console for
// that long after the start ends at once as a TIMEOUT, "no output from the guest in N s",
// rather than at the run's own deadline. The watchdog first gets the boot deadline;
// the run loop calls after_exit() at each exit, and the guest's first console byte
// moves the watchdog on to the run's deadline.
#pragma once

#include <chrono>
#include <optional>

#include "vmm/dispatch.hpp"
#include "vmm/watchdog.hpp"

namespace cr3rig {

struct RunResult;

class BootTimeout {
public:
    using Clock = std::chrono::steady_clock;

    // No boot timeout, or one not shorter than the run's: the run's deadline only.
    BootTimeout(Clock::time_point start, std::chrono::milliseconds timeout,
                std::optional<std::chrono::milliseconds> boot_timeout);

    // What the watchdog starts with.
    Clock::time_point first_deadline() const;
    // After each exit: once the guest has written to its console, the run's own
    // deadline applies (unless the boot deadline has already fired).
    void after_exit(const RunResult& result, Watchdog& watchdog);
    // A TIMEOUT stop says which deadline passed: while the boot deadline applies,
    // "no output from the guest in N s"; other stops are returned as they are.
    Stop explain(Stop stop) const;

private:
    Clock::time_point start_;
    std::chrono::milliseconds timeout_;
    std::optional<std::chrono::milliseconds> boot_timeout_;  // reset once the guest has printed
};

}  // namespace cr3rig
