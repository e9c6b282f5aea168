// kvm-unit-tests' QEMU parameters (an entry's extra_params / qemu_params) as the options
// of `cr3rig run`: -append is the guest's command line, -cpu SPEC is --cpu SPEC
// verbatim, -m SIZE is --memory MIB; -enable-kvm, -accel kvm and -machine properties
// that turn off a device cr3rig does not have (pit=off) ask for nothing cr3rig lacks.
// Anything else (-device, a machine type, -overcommit, ...) is named as what cr3rig
// cannot give (docs/suite.md has the table).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cr3rig::suite {

// The guest RAM `cr3rig run --memory` takes, in MiB (cli/cmd_run.cpp's range).
inline constexpr uint64_t kMinGuestMemoryMiB = 2;
inline constexpr uint64_t kMaxGuestMemoryMiB = 3072;

struct QemuParams {
    std::optional<std::string> append;      // the last -append's text
    std::string cpu;                        // -cpu's value, verbatim; empty: none given
    std::optional<uint64_t> memory_mib;     // -m, rounded up to whole MiB
    std::string unsupported;                // the first option cr3rig cannot give, with its value
    std::string unsupported_why;            // and why, for the skip reason
};

// Throws BadInput for an option that needs a value and has none (-append at the end).
QemuParams map_qemu_params(const std::vector<std::string>& words);

// QEMU's size syntax for -m: a number, optionally fractional, with an optional suffix
// B, K, M, G, T (any case; none means MiB), in bytes. Nullopt when it is not one.
std::optional<uint64_t> qemu_size_bytes(std::string_view text);

}  // namespace cr3rig::suite
