#include "suite/hostability.hpp"

#include <filesystem>

#include "suite/file_text.hpp"
#include "suite/qemu_params.hpp"

namespace cr3rig::suite {

namespace {

std::string join(const std::vector<std::string>& words)
{
    std::string out;
    for (const auto& w : words)
        out += (out.empty() ? "" : " ") + w;
    return out;
}

}  // namespace

GuestArguments guest_arguments(const ShellWords& test_args, const ShellWords& params)
{
    QemuParams qemu = map_qemu_params(params.words);
    GuestArguments out;
    out.cmdline = qemu.append.value_or(join(test_args.words));
    out.cpu = qemu.cpu;
    out.memory_mib = qemu.memory_mib;
    out.unsupported = qemu.unsupported;
    out.unsupported_why = qemu.unsupported_why;
    out.expansion = test_args.has_expansion || params.has_expansion;
    return out;
}

std::string static_skip_reason(const ManifestEntry& e)
{
    if (!e.arch.empty() && e.arch != "x86_64")
        return e.arch + " only";
    if (!e.machine.empty())
        return "machine " + e.machine + " only (cr3rig emulates no QEMU machine type)";
    if (!e.accel.empty() && e.accel != "kvm")
        return e.accel + " only (cr3rig runs guests on KVM)";
    if (!e.disabled_if.empty())
        return "disabled_if is a shell condition (cr3rig does not evaluate it): " + e.disabled_if;
    return {};
}

std::string unhostable_reason(const ManifestEntry& e, const GuestArguments& args)
{
    if (e.vcpus == 0)  // not a number: $MAX_SMP, or more than fits
        return "smp = " + e.smp + " (cr3rig does not evaluate shell expressions; it takes a number of vCPUs)";
    if (!args.unsupported.empty())
        return "QEMU parameter " + args.unsupported + " (" + args.unsupported_why + ")";
    if (args.expansion)
        return "shell expansion in test_args or extra_params (cr3rig does not evaluate it)";
    if (e.in_group("migration"))
        return "migration test (needs QEMU's migration harness)";
    if (e.in_group("panic"))
        return "panic test (expects QEMU's GUEST_PANICKED state)";
    return {};
}

std::string failed_check(const ManifestEntry& entry)
{
    for (const auto& check : entry.checks) {
        size_t eq = check.find('=');
        std::string path = check.substr(0, eq), value = check.substr(eq + 1);
        std::error_code ec;
        bool is_file = std::filesystem::is_regular_file(path, ec);
        std::string content = is_file ? read_text(path) : "";
        while (!content.empty() && content.back() == '\n')
            content.pop_back();
        if (!is_file || content != value)
            return path + " not equal to " + value;
    }
    return {};
}

}  // namespace cr3rig::suite
