// What cr3rig can host of a kvm-unit-tests entry, and why not when it cannot. cr3rig
// runs x86-64 guests on KVM with `cr3rig run`: smp, -cpu and -m become its --smp, --cpu
// and --memory, -append its --cmdline (suite/qemu_params.hpp); what has no such option
// becomes a skip reason (docs/suite.md has the table).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "suite/manifest.hpp"
#include "suite/shell_words.hpp"

namespace cr3rig::suite {

// What an entry's test_args and extra_params ask of `cr3rig run`, and what stands in the way.
struct GuestArguments {
    std::string cmdline;
    std::string cpu;                     // -cpu, verbatim
    std::optional<uint64_t> memory_mib;  // -m
    std::string unsupported;             // the first QEMU option cr3rig cannot give, with its value
    std::string unsupported_why;
    bool expansion = false;  // $VAR or `cmd`, which only a shell could evaluate
};

// Like QEMU, a later -append wins over an earlier one and over test_args (kvm-unit-tests
// puts test_args before extra_params on QEMU's command line). Throws BadInput for an
// -append with no value.
GuestArguments guest_arguments(const ShellWords& test_args, const ShellWords& params);

// The reasons run_tests.sh itself gives for entries that are not for this machine
// (arch, machine, accel, disabled_if), in its order. Empty when none applies.
std::string static_skip_reason(const ManifestEntry& entry);

// Why cr3rig cannot host the entry (an smp it cannot read, a QEMU option it cannot
// give, a shell expansion, a migration or panic test), or empty.
std::string unhostable_reason(const ManifestEntry& entry, const GuestArguments& arguments);

// kvm-unit-tests' check = PATH=VALUE ...: read on this host, the first PATH that is
// not a file or does not hold VALUE (as the shell's $(cat PATH), trailing newlines
// dropped) gives "PATH not equal to VALUE", runtime.bash's words. Empty when all hold.
std::string failed_check(const ManifestEntry& entry);

}  // namespace cr3rig::suite
