#include "vmm/devices/debug_exit.hpp"

#include <cstring>

#include "cr3rig/abi.h"

namespace cr3rig {

VerdictKind verdict_of_exit_value(uint32_t value)
{
    if (value == 0)
        return VerdictKind::Pass;
    return value == CR3RIG_EXIT_SKIP_KUT || value == CR3RIG_EXIT_SKIP ? VerdictKind::Skip : VerdictKind::Fail;
}

Claims DebugExit::claims() const { return {{{CR3RIG_DEBUG_EXIT_PORT, CR3RIG_DEBUG_EXIT_LEN}}, {}}; }

ExitAction DebugExit::io(const IoAccess& access)
{
    if (!access.out) {
        std::memset(access.data.data(), 0xff, access.data.size());
        return std::nullopt;
    }
    uint32_t value = access.value();
    std::string reason = "guest exit code " + std::to_string(value) + " (debug-exit status " +
                         std::to_string(debug_exit_status(value)) + ")";
    return Stop{verdict_of_exit_value(value), reason, value};
}

}  // namespace cr3rig
