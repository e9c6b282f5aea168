#include "suite/result_mapping.hpp"

#include <string.h>

#include <cstdio>

#include "common/verdict.hpp"
#include "suite/guest_report.hpp"

namespace cr3rig::suite {

namespace {

std::string signal_name(int sig)
{
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// The start of `cr3rig run`'s reason when --boot-timeout ended it (vmm/boot_timeout.cpp).
constexpr std::string_view kBootTimeoutReason = "no output from the guest in ";

// The more specific of two texts, for a detail line.
const std::string& first_of(const std::string& a, const std::string& b) { return a.empty() ? b : a; }

}  // namespace

std::string format_seconds(double seconds)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%gs", seconds);
    return buf;
}

TestResult map_child_result(std::string name, const ChildExit& how, std::string_view log, std::string_view guest,
                            double timeout_s)
{
    GuestReport report = parse_guest_report(log, guest);
    TestResult r;
    r.name = std::move(name);
    r.exit_code = how.exit_code;
    r.guest_failures = report.failures;
    r.outcome = Outcome::Fail;
    auto fail = [&](const char* cause, std::string detail) {
        r.cause = cause;
        r.detail = std::move(detail);
        return r;
    };
    if (how.killed_by_runner)
        return fail("timeout", "timeout; duration=" + format_seconds(timeout_s) + ", killed by the runner");
    if (how.signal)
        return fail("signal", "terminated on " + signal_name(*how.signal));
    const std::string& why = first_of(report.verdict_reason, report.last_rig_message);
    switch (how.exit_code.value_or(-1)) {
    case kExitPass:
        r.outcome = Outcome::Pass;
        r.detail = report.summary;
        return r;
    case kExitSkip:  // the guest's summary; else the verdict's reason, or the line that says why it did not run
        r.outcome = Outcome::Skip;
        r.detail = first_of(report.summary, why.starts_with("SKIP: ") ? why.substr(6) : why);
        return r;
    case kExitFail: return fail("fail", first_of(report.summary, why));
    case kExitUsage:  // "cr3rig: error: cannot open guest image x"
        return fail("bad-input", "bad input: " + (why.starts_with("error: ") ? why.substr(7) : why));
    case kExitCrash: return fail("crash", "crash: " + why);
    case kExitTimeout:  // `--boot-timeout`'s says so: "no output from the guest in 5 s"
        if (report.verdict_reason.starts_with(kBootTimeoutReason))
            return fail("boot-timeout", report.verdict_reason);
        return fail("timeout", "timeout; duration=" + format_seconds(timeout_s));
    default: return fail("exit-status", "exit status " + std::to_string(how.exit_code.value_or(-1)) + ": " + why);
    }
}

}  // namespace cr3rig::suite
