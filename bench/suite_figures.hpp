// kvm-unit-tests under cr3rig and under QEMU, side by side in one run: the entries of
// the suite's own manifest that QEMU passes on this host (qemu-baseline.tsv), each one
// started as `cr3rig test MANIFEST --only NAME` and as the QEMU command line
// kvm-unit-tests' x86/run builds, alternating so both see the same host load; then the
// same entries as a whole suite, two at a time: `cr3rig test -j 2` against QEMU run the
// way `run_tests.sh -j 2` runs it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cr3rig::bench {

struct SuiteEntryFigures {
    std::string name;
    std::vector<double> rig_ms, qemu_ms;  // process start to verdict, one per run
    std::vector<double> guest_ms;         // cr3rig's guest run time (first KVM_RUN to verdict)
    std::string rig_result, qemu_result;  // PASS, or what it gave instead (the last run's)
};

struct SuiteFigures {
    std::string skipped;  // why nothing was measured (no suite folder, no QEMU), else empty
    std::string manifest;
    std::vector<SuiteEntryFigures> entries;      // QEMU-passing entries cr3rig hosts
    std::vector<std::string> not_hosted;         // QEMU-passing entries cr3rig skips: "name: reason"
    double rig_suite_s = 0, qemu_suite_s = 0;    // the entries above, two at a time
};

// `quick`: one run of the three entries QEMU ran quickest (what ci/test.sh runs, so the
// code cannot rot);
// else `runs` runs of every entry.
SuiteFigures kut_suite_figures(int runs, bool quick);

// The table (entry, both results, both medians, the ratio) and the two ratios with the
// goal (cr3rig at least 10x faster per test), or why nothing was measured.
void print_suite_figures(const SuiteFigures& f);
void add_suite_json(nlohmann::json& j, const SuiteFigures& f);

}  // namespace cr3rig::bench
