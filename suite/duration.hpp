// Timeouts as kvm-unit-tests writes them: timeout(1)'s DURATION, a number of seconds
// with an optional unit suffix (s, m, h or d): "90", "90s", "1.5m", "2h".
#pragma once

#include <string_view>

namespace cr3rig::suite {

// Seconds; throws BadInput naming the text when it is not a positive duration of at
// most one day (the longest deadline `cr3rig run` accepts).
double parse_duration(std::string_view text);

}  // namespace cr3rig::suite
