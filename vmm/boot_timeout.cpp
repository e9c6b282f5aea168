#include "vmm/boot_timeout.hpp"

#include <cstdio>

#include "vmm/runner.hpp"

namespace cr3rig {

BootTimeout::BootTimeout(Clock::time_point start, std::chrono::milliseconds timeout,
                         std::optional<std::chrono::milliseconds> boot_timeout)
    : start_(start), timeout_(timeout), boot_timeout_(boot_timeout && *boot_timeout < timeout ? boot_timeout : std::nullopt)
{
}

BootTimeout::Clock::time_point BootTimeout::first_deadline() const
{
    return start_ + boot_timeout_.value_or(timeout_);
}

void BootTimeout::after_exit(const RunResult& result, Watchdog& watchdog)
{
    bool printed = !result.console.empty() || result.console_dropped > 0;
    if (boot_timeout_ && printed && watchdog.postpone(start_ + timeout_))
        boot_timeout_.reset();
}

Stop BootTimeout::explain(Stop stop) const
{
    if (stop.kind != VerdictKind::Timeout || !boot_timeout_)
        return stop;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", std::chrono::duration<double>(*boot_timeout_).count());
    return {VerdictKind::Timeout, std::string("no output from the guest in ") + seconds + " s", std::nullopt};
}

}  // namespace cr3rig
