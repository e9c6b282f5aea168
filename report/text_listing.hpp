// `cr3rig trace --to text`: a compact listing for terminals and logs, one aligned line
// per event (page-fault storms folded to their first and last fault), then the
// findings, the storms and the verdict.
#pragma once

#include <ostream>

#include "report/history.hpp"

namespace cr3rig::report {

void write_text_listing(const History& history, std::ostream& out);

}  // namespace cr3rig::report
