#include "traps/trap_backend.hpp"

#include <array>
#include <filesystem>
#include <string>
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

std::vector<std::string> trap_backend_names()
{
    std::vector<std::string> names;
    for (const auto& entry : kNames)
        names.emplace_back(entry.second);
    return names;
}

const char* name_of(TrapBackend backend)
{
    for (const auto& [b, text] : kNames) {
        if (b == backend)
            return text.data();
    }
    return "?";
}

// int3 where the CPU runs guest CPL0 code (VT-x, SVM): a #BP exit, one byte patched,
// nothing to complete. On kvm_pvm int3 at CPL0 exits only as an emulation failure, at
// twice the cost of an emulated `out`, and at CPL3 it reaches the guest as #BP, where
// the original instruction raises #GP: there, and on a host not known, the trap port.
TrapBackend host_patch_kind()
{
    auto loaded = [](const char* module) { return std::filesystem::exists(std::string("/sys/module/") + module); };
    if (loaded("kvm_pvm"))
        return TrapBackend::PatchedPort;
    return loaded("kvm_intel") || loaded("kvm_amd") ? TrapBackend::Int3 : TrapBackend::PatchedPort;
}

}  // namespace cr3rig
