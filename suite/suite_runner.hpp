// Runs the planned tests of a manifest, -j at a time, each as a child process
// `cr3rig run --timeout=T [--boot-timeout=B] --memory=M [--smp=N] [--cpu=SPEC]
// [--cmdline=TEXT] [cr3rig_params...] --json=LOGDIR/NAME.json -- GUEST`
// whose stdout and stderr go to LOGDIR/NAME.log. A child that outlives its deadline by the grace period is killed.
// SIGINT/SIGTERM to the runner end the children too (run_tests).
#pragma once

#include <filesystem>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "suite/selection.hpp"
#include "suite/test_result.hpp"

namespace cr3rig::suite {

inline constexpr double kDefaultTimeoutS = 90;  // kvm-unit-tests' TIMEOUT default
inline constexpr uint64_t kDefaultGuestMemoryMiB = 128;  // QEMU's default RAM, for entries without -m

struct RunnerOptions {
    std::string cr3rig;                  // the binary each test runs with (`cr3rig run ...`)
    std::filesystem::path manifest_dir;  // relative files resolve against it
    std::filesystem::path log_dir;
    unsigned jobs = 1;
    double default_timeout_s = kDefaultTimeoutS;  // for entries without a timeout
    std::optional<double> max_timeout_s;          // --max-timeout: caps every entry's, its own included
    std::optional<double> boot_timeout_s;         // --boot-timeout: no console output this long fails a test
    // `cr3rig run` stops itself at its deadline; the runner waits this much longer
    // before it kills the child (kvm-unit-tests: timeout -k 1s).
    double kill_grace_s = 5;
    std::function<void(const TestResult&)> on_result;  // as each test ends, in end order
};

// The GUEST argument of an entry's `cr3rig run`: builtin:NAME as written, a relative
// path resolved against the manifest's directory.
std::string guest_argument(const std::string& file, const std::filesystem::path& manifest_dir);

// Where an entry's `cr3rig run --json` goes: LOGDIR/NAME.json, beside its log.
std::filesystem::path json_path(const RunnerOptions& options, const ManifestEntry& entry);

// An entry's deadline: its timeout, else the default, at most max_timeout_s;
// `capped_from` is what the cap lowered.
struct EntryTimeout {
    double seconds;
    std::optional<double> capped_from;
};
EntryTimeout entry_timeout(const RunnerOptions& options, const ManifestEntry& entry);

// The argument vector of one test's child process: the manifest's smp, -cpu, -m and
// command line as `cr3rig run`'s options; --smp only above 1 and --cpu and --cmdline
// only when given, so that plain entries run on every cr3rig.
std::vector<std::string> child_command(const RunnerOptions& options, const ManifestEntry& entry, double timeout_s);

struct SuiteRun {
    // In the order of the tests; after a signal, only those that finished before it.
    std::vector<TestResult> results;
    int interrupted_by = 0;  // SIGINT or SIGTERM when one ended the run early, else 0
};

// Runs the tests. An entry that cannot start (its command line too long for the OS:
// E2BIG) fails with the reason while the others run. SIGINT or SIGTERM stops the run:
// no test starts after it, the running ones get the signal (each leads its own process
// group), then SIGKILL after the kill grace. Throws BadInput when the log directory
// cannot be made.
SuiteRun run_tests(const std::vector<PlannedTest>& tests, const RunnerOptions& options);

}  // namespace cr3rig::suite
