// What cr3rig can host of a kvm-unit-tests entry. It runs one x86-64 vCPU on KVM and
// passes the guest a command line; it has no QEMU machine, CPU model or devices to
// configure. Everything else becomes a skip reason (docs/suite.md has the table).
#pragma once

#include <string>

#include "suite/manifest.hpp"
#include "suite/shell_words.hpp"

namespace cr3rig::suite {

// The guest's command line from test_args and extra_params, and what stands in the way.
struct GuestArguments {
    std::string cmdline;
    std::string unsupported_option;  // the first QEMU option other than -append
    bool expansion = false;          // $VAR or `cmd`, which only a shell could evaluate
};

// Like QEMU, a later -append wins over an earlier one and over test_args (kvm-unit-tests
// puts test_args before extra_params on QEMU's command line). Throws BadInput for an
// -append with no value.
GuestArguments guest_arguments(const ShellWords& test_args, const ShellWords& params);

// Empty when the rig can host the entry, else one line saying why not.
std::string skip_reason(const ManifestEntry& entry, const GuestArguments& arguments);

}  // namespace cr3rig::suite
