// The Capstone library the trap engine disassembles guest code with.
#pragma once

#include <string>

namespace cr3rig {

// "4.0" for the Capstone the binary runs with; `cr3rig --version` prints it.
std::string capstone_version();

}  // namespace cr3rig
