// The isa-debug-exit convention: the guest writes v to the port and the run ends with
// status (v << 1) | 1. v == 0 is a pass, anything else a failure (kvm-unit-tests' rule).
#pragma once

#include "../dispatch.hpp"

namespace cr3rig {

class DebugExit : public PortDevice {
public:
    ExitAction io(const IoAccess& access) override;
};

constexpr uint32_t debug_exit_status(uint32_t value) { return (value << 1) | 1; }

}  // namespace cr3rig
