#include "traps/trap_backend.hpp"

#include <array>
#include <utility>

namespace cr3rig {

namespace {

constexpr std::array<std::pair<TrapBackend, std::string_view>, 5> kNames{{
    {TrapBackend::Auto, "auto"},
    {TrapBackend::HardwareBreakpoints, "hw"},
    {TrapBackend::PatchedPort, "port"},
    {TrapBackend::Int3, "int3"},
    {TrapBackend::SingleStep, "step"},
}};

}  // namespace

std::optional<TrapBackend> parse_trap_backend(std::string_view name)
{
    for (const auto& [backend, text] : kNames) {
        if (text == name)
            return backend;
    }
    return std::nullopt;
}

const char* name_of(TrapBackend backend)
{
    for (const auto& [b, text] : kNames) {
        if (b == backend)
            return text.data();
    }
    return "?";
}

}  // namespace cr3rig
