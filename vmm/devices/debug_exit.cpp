#include "debug_exit.hpp"

#include <cstring>

namespace cr3rig {

ExitAction DebugExit::io(const IoAccess& access)
{
    if (!access.out) {
        std::memset(access.data.data(), 0xff, access.data.size());
        return std::nullopt;
    }
    uint32_t value = access.value();
    std::string reason = "guest exit code " + std::to_string(value) + " (debug-exit status " +
                         std::to_string(debug_exit_status(value)) + ")";
    return Stop{value == 0 ? Verdict::Pass : Verdict::Fail, reason, value};
}

}  // namespace cr3rig
