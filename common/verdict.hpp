// The outcome of a run and the CLI exit codes (kselftest's 4 = skip, timeout(1)'s 124).
#pragma once

#include <optional>
#include <string_view>

namespace cr3rig {

// Skip: the guest said it could not run its tests (debug-exit value 77, kvm-unit-tests'
// convention); the same exit code as a run skipped for want of KVM.
enum class Verdict { Pass, Fail, Crash, Timeout, Skip };

// Transitional: the name the verdict's kind will have once Verdict is the whole
// typed verdict (kind, reason, findings). Write new code against VerdictKind.
using VerdictKind = Verdict;

enum ExitCode : int {
    kExitPass = 0,
    kExitFail = 1,
    kExitUsage = 2,
    kExitCrash = 3,
    kExitSkip = 4,
    kExitTimeout = 124,
};

constexpr int exit_code_of(Verdict v)
{
    switch (v) {
    case Verdict::Pass: return kExitPass;
    case Verdict::Fail: return kExitFail;
    case Verdict::Crash: return kExitCrash;
    case Verdict::Timeout: return kExitTimeout;
    case Verdict::Skip: return kExitSkip;
    }
    return kExitCrash;
}

constexpr std::string_view name_of(Verdict v)
{
    switch (v) {
    case Verdict::Pass: return "PASS";
    case Verdict::Fail: return "FAIL";
    case Verdict::Crash: return "CRASH";
    case Verdict::Timeout: return "TIMEOUT";
    case Verdict::Skip: return "SKIP";
    }
    return "?";
}

// The reverse of name_of, for the readers of JSON lines; nullopt for any other text.
constexpr std::optional<VerdictKind> verdict_kind_named(std::string_view name)
{
    for (VerdictKind k : {Verdict::Pass, Verdict::Fail, Verdict::Crash, Verdict::Timeout, Verdict::Skip})
        if (name_of(k) == name)
            return k;
    return std::nullopt;
}

}  // namespace cr3rig
