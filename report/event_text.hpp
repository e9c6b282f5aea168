// Words for events, shared by the views so that the text listing, the HTML tooltips and
// the Perfetto args describe an event the same way.
#pragma once

#include <string>

#include "common/trap_event.hpp"

namespace cr3rig::report {

// The event's value: "0x80a000" (read), "0x800000 -> 0x80a000" (write), "vector 48",
// "addr 0x8000000059 rip 0x8000000059 err 4", "invlpg", "cr4-write 0x6a0".
std::string event_value(const TrapEvent& e);

// "seq 100 cr3_write at write_cr3 (0x100bc0): 0x800000 -> 0x80a000, task A (pid 2)"
std::string event_summary(const TrapEvent& e);

}  // namespace cr3rig::report
