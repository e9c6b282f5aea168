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

// In manifest order, each with its skip reason in run_tests.sh's order: an entry in the
// "nodefault" group runs only when a filter selects it ("test marked as manual run
// only" without filters), then the manifest's arch/machine/accel/disabled_if, then its
// check (read on this host now), then what cr3rig cannot give. Throws BadInput when
// --only names no entry or the filters leave nothing to run.
std::vector<PlannedTest> select_tests(const Manifest& manifest, const Filters& filters);

}  // namespace cr3rig::suite
