// A finding as JSON: the one shape the CR3 history's finding records
// (docs/trace-format.md) and `cr3rig run --json` (README, JSON outputs) share.
#pragma once

#include <nlohmann/json.hpp>

#include "common/trap_event.hpp"

namespace cr3rig {

// kind, seq, summary, site, value, expected; a stale write's read_site and
// writes_between; a livelock's count, guest_ns and host_ns.
nlohmann::json finding_json(const Finding& finding);

}  // namespace cr3rig
