// How the trap engine makes a trapped instruction exit to the VMM (docs/traps.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cr3rig {

enum class TrapBackend {
    // Debug registers while every site fits in them, patched traps (int3 where the
    // host turns it into a #BP exit, else `out` to the trap port) past that.
    Auto,
    HardwareBreakpoints,  // the 4 debug registers only; sites past them are not trapped
    PatchedPort,          // each site rewritten into `out %al, $CR3RIG_TRAP_PORT`
    Int3,                 // each site's first byte rewritten into int3 (software breakpoints)
    SingleStep,           // step every guest instruction: no patch, no slot limit, slow
};

// "auto", "hw", "port", "int3", "step": the --trap-backend names.
std::optional<TrapBackend> parse_trap_backend(std::string_view name);
std::vector<std::string> trap_backend_names();
const char* name_of(TrapBackend backend);

// What `auto` patches with on this host: PatchedPort or Int3 (docs/traps.md says why).
TrapBackend host_patch_kind();

}  // namespace cr3rig
