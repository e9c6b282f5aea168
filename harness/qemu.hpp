// QEMU as a peer for the multiboot guests: the command kvm-unit-tests' x86 run script
// would use (KVM, isa-debug-exit at 0xf4, serial on stdio, no default devices), whether
// it can run here, and what its exit status means. Shared by the QEMU tests and the
// benchmark; header-only.
#pragma once

#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/verdict.hpp"
#include "harness/run_command.hpp"
#include "vmm/devices/debug_exit.hpp"

namespace cr3rig::testing {

// CR3RIG_QEMU overrides the binary (a path or a name on PATH).
inline std::string qemu_binary()
{
    const char* env = std::getenv("CR3RIG_QEMU");
    return env && *env ? env : "qemu-system-x86_64";
}

// The arguments for one multiboot image (argv[0] is the binary); `append` goes to
// -append, `env_file` to -initrd (QEMU's multiboot loader makes it the first module).
inline std::vector<std::string> qemu_argv(const std::string& image, const std::string& append = "",
                                          const std::string& env_file = "")
{
    std::vector<std::string> argv{qemu_binary(), "-accel", "kvm", "-nodefaults", "-display", "none", "-serial",
                                  "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
                                  "-kernel", image};
    if (!append.empty())
        argv.insert(argv.end(), {"-append", append});
    if (!env_file.empty())
        argv.insert(argv.end(), {"-initrd", env_file});
    return argv;
}

// An argv as a shell command for run_command(), stdin closed.
inline std::string qemu_shell_command(const std::vector<std::string>& argv)
{
    std::string cmd;
    // The space is appended, not prepended to a temporary (" " + ...): that is
    // string::insert(0, ...), where g++ 12 at -O3 reports a false -Werror=restrict
    // (GCC PR 105329).
    for (const auto& arg : argv) {
        if (!cmd.empty())
            cmd += ' ';
        cmd += "'" + arg + "'";
    }
    return cmd + " </dev/null";
}

// qemu_argv() as a shell command.
inline std::string qemu_command(const std::string& image, const std::string& append = "",
                                const std::string& env_file = "")
{
    return qemu_shell_command(qemu_argv(image, append, env_file));
}

// The same machine without KVM: TCG, QEMU's own CPU emulation, with every feature it
// has (-cpu max): an implementation of the instructions independent of KVM's.
inline std::vector<std::string> qemu_tcg_argv(const std::string& image)
{
    std::vector<std::string> argv = qemu_argv(image);
    for (size_t i = 0; i + 1 < argv.size(); i++)
        if (argv[i] == "-accel")
            argv[i + 1] = "tcg";
    argv.insert(argv.end(), {"-cpu", "max"});
    return argv;
}

// Lines QEMU wrote about itself that are not warnings: on a debug-exit status of 1,
// these tell a QEMU failure from a passing test (kvm-unit-tests' arch-run.bash rule).
inline std::string qemu_errors(const std::string& output)
{
    std::istringstream in(output);
    std::string errors;
    std::string binary = qemu_binary();
    std::string prefix = binary.substr(binary.rfind('/') + 1) + ":";  // QEMU names itself by basename
    for (std::string line; std::getline(in, line);)
        if (line.rfind(prefix, 0) == 0 && line.find("warning") == std::string::npos)
            errors += line + "\n";
    return errors;
}

// Why there is no QEMU to run here, or nullopt (enough for TCG, which needs no KVM).
inline std::optional<std::string> qemu_missing_reason()
{
    auto version = run_command(qemu_binary() + " --version");
    if (version.exit_code != 0 || version.output.find("QEMU") == std::string::npos)
        return qemu_binary() + " not found or not runnable (Debian: apt-get install qemu-system-x86)";
    return std::nullopt;
}

// Why QEMU with KVM cannot run here, or nullopt: it must exist and initialise KVM
// (checked with no machine at all, which takes ~0.1 s).
inline std::optional<std::string> qemu_unusable_reason()
{
    if (auto why = qemu_missing_reason())
        return why;
    auto probe = run_command("echo quit | " + qemu_binary() + " -accel kvm -M none -nodefaults -display none"
                                                              " -monitor stdio");
    std::string errors = qemu_errors(probe.output);
    if (probe.exit_code == 0 && errors.empty())
        return std::nullopt;
    if (errors.empty())
        return "QEMU cannot use KVM here: exit status " + std::to_string(probe.exit_code);
    return "QEMU cannot use KVM here: " + errors.substr(0, errors.find('\n'));
}

// What QEMU's exit status means for a multiboot test, in cr3rig's verdicts: isa-debug-exit
// makes it (v << 1) | 1, so an odd status carries the guest's value v (0 pass, 77 skip,
// else fail). 0 (QEMU quit without the device) or any even status is not a test result.
inline std::optional<VerdictKind> qemu_verdict(int exit_status, const std::string& output)
{
    if (exit_status < 0 || exit_status % 2 == 0)
        return std::nullopt;
    if (exit_status == 1 && !qemu_errors(output).empty())
        return std::nullopt;  // QEMU itself failed
    return verdict_of_exit_value(static_cast<uint32_t>(exit_status) >> 1);
}

}  // namespace cr3rig::testing
