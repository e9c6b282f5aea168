// The isa-debug-exit convention: the guest writes v to the port and the run ends with
// status (v << 1) | 1. v == 0 is a pass; v == 38 a skip: kvm-unit-tests' report_summary()
// returns 77 >> 1 when every test skipped, so that QEMU exits 77, automake's SKIP, which
// run_tests.sh reports as SKIP (CR3RIG_EXIT_SKIP_KUT); v == 77 a skip too, for cr3rig's
// own guests (CR3RIG_EXIT_SKIP); anything else a failure.
#pragma once

#include "vmm/devices/device.hpp"

namespace cr3rig {

// No state: a write ends the run.
class DebugExit : public Device {
public:
    std::string_view name() const override { return "debug-exit"; }
    Claims claims() const override;
    ExitAction io(const IoAccess& access) override;
};

constexpr uint32_t debug_exit_status(uint32_t value) { return (value << 1) | 1; }

VerdictKind verdict_of_exit_value(uint32_t value);

}  // namespace cr3rig
