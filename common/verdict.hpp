// The outcome of a run, one type end to end: a kind, a one-line reason, and what the
// rig found. The run loop composes it once (vmm/runner.cpp, compose_verdict) from
// what the devices and the hooks report; campaigns, the suite and every subcommand
// read it. Strings appear only at the edges (text, JSON, TAP, JUnit): name_of and
// verdict_kind_named. The CLI exit codes are kselftest's 4 = skip and timeout(1)'s 124.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/trap_event.hpp"

namespace cr3rig {

// Skip: the guest said it could not run its tests (debug-exit value 77, kvm-unit-tests'
// convention), or the host cannot run it (no usable KVM). BadInput: the image or an
// option given cannot be used; the run never started.
enum class VerdictKind { Pass, Fail, Skip, Crash, Timeout, BadInput };

struct Verdict {
    VerdictKind kind = VerdictKind::Crash;
    std::string reason;                    // one line
    std::vector<Finding> findings;         // what the trap engine found, in order
    std::optional<uint32_t> guest_status;  // the value the guest wrote to the debug-exit port

    bool passed() const { return kind == VerdictKind::Pass; }
};

enum ExitCode : int {
    kExitPass = 0,
    kExitFail = 1,
    kExitUsage = 2,
    kExitCrash = 3,
    kExitSkip = 4,
    kExitTimeout = 124,
};

// The one map from a verdict to the process's exit code, used by every subcommand.
constexpr int exit_code_of(VerdictKind kind)
{
    switch (kind) {
    case VerdictKind::Pass: return kExitPass;
    case VerdictKind::Fail: return kExitFail;
    case VerdictKind::Skip: return kExitSkip;
    case VerdictKind::Crash: return kExitCrash;
    case VerdictKind::Timeout: return kExitTimeout;
    case VerdictKind::BadInput: return kExitUsage;
    }
    return kExitCrash;
}

inline int exit_code_of(const Verdict& verdict) { return exit_code_of(verdict.kind); }

constexpr std::string_view name_of(VerdictKind kind)
{
    switch (kind) {
    case VerdictKind::Pass: return "PASS";
    case VerdictKind::Fail: return "FAIL";
    case VerdictKind::Skip: return "SKIP";
    case VerdictKind::Crash: return "CRASH";
    case VerdictKind::Timeout: return "TIMEOUT";
    case VerdictKind::BadInput: return "BAD-INPUT";
    }
    return "?";
}

// The reverse of name_of, for the readers of JSON lines; nullopt for any other text.
constexpr std::optional<VerdictKind> verdict_kind_named(std::string_view name)
{
    for (VerdictKind k : {VerdictKind::Pass, VerdictKind::Fail, VerdictKind::Skip, VerdictKind::Crash,
                          VerdictKind::Timeout, VerdictKind::BadInput})
        if (name_of(k) == name)
            return k;
    return std::nullopt;
}

}  // namespace cr3rig
