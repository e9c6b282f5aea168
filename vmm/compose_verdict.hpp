// The one place a run's verdict is written: from how the run ended (a device's or a
// hook's Stop, the watchdog, a crash) and what the hooks found.
#pragma once

#include <vector>

#include "common/verdict.hpp"
#include "vmm/dispatch.hpp"

namespace cr3rig {

// Without findings the verdict is the ending as it is. Any finding makes it FAIL,
// whatever the guest said, with the first finding as the reason and the guest's own
// ending kept in brackets: "stale-cr3-write: ... (guest: PASS, guest exit code 0 ...)".
Verdict compose_verdict(Stop end, std::vector<Finding> findings);

}  // namespace cr3rig
