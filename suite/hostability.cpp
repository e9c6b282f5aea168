#include "suite/hostability.hpp"

#include <algorithm>

#include "common/errors.hpp"

namespace cr3rig::suite {

namespace {

std::string join(const std::vector<std::string>& words)
{
    std::string out;
    for (const auto& w : words)
        out += (out.empty() ? "" : " ") + w;
    return out;
}

bool all_digits(const std::string& s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

GuestArguments guest_arguments(const ShellWords& test_args, const ShellWords& params)
{
    GuestArguments out;
    out.cmdline = join(test_args.words);
    out.expansion = test_args.has_expansion || params.has_expansion;
    for (size_t i = 0; i < params.words.size(); i++) {
        if (params.words[i] == "-append") {
            if (i + 1 >= params.words.size())
                throw BadInput("-append needs a value");
            out.cmdline = params.words[++i];
        } else if (out.unsupported_option.empty()) {
            out.unsupported_option = params.words[i];
        }
    }
    return out;
}

std::string skip_reason(const ManifestEntry& e, const GuestArguments& args)
{
    if (!e.arch.empty() && e.arch != "x86_64")
        return e.arch + " only (cr3rig hosts x86_64 guests)";
    if (e.smp != "1")
        return "smp = " + e.smp + (all_digits(e.smp) ? "" : ", a shell expression,") + " (cr3rig runs one vCPU)";
    if (!e.accel.empty() && e.accel != "kvm")
        return e.accel + " only (cr3rig runs guests on KVM)";
    if (!e.machine.empty())
        return "machine " + e.machine + " only (cr3rig emulates no QEMU machine type)";
    if (!args.unsupported_option.empty())
        return "QEMU parameter " + args.unsupported_option + " (cr3rig maps only -append, to the guest's command line)";
    if (args.expansion)
        return "shell expansion in test_args or extra_params (cr3rig does not evaluate it)";
    if (!e.disabled_if.empty())
        return "disabled_if is a shell condition (cr3rig does not evaluate it): " + e.disabled_if;
    if (e.in_group("migration"))
        return "migration test (needs QEMU's migration harness)";
    if (e.in_group("panic"))
        return "panic test (expects QEMU's GUEST_PANICKED state)";
    return {};
}

}  // namespace cr3rig::suite
