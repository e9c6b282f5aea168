// Which entries of a manifest a run covers (--group, --only), and which of those are
// skipped before anything runs.
#pragma once

#include <string>
#include <vector>

#include "suite/manifest.hpp"

namespace cr3rig::suite {

struct Filters {
    std::vector<std::string> groups;  // --group: entries in any of these
    std::vector<std::string> only;    // --only: entries with these names
};

struct PlannedTest {
    const ManifestEntry* entry;
    std::string skip_reason;  // empty: run it
};

// In manifest order. An entry in the "nodefault" group runs only when a filter selects
// it, as with kvm-unit-tests' run_tests.sh; without filters it is a SKIP. Throws
// BadInput when --only names no entry or the filters leave nothing to run.
std::vector<PlannedTest> select_tests(const Manifest& manifest, const Filters& filters);

}  // namespace cr3rig::suite
