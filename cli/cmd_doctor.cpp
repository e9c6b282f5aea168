// cr3rig doctor: can the rig run on this host, with which backend and which of its
// mechanisms, and what that means for the user. Exit 0 when it can run guests, 4
// when it cannot (kselftest's skip: a CI job can skip on it).
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "cli/host_probes.hpp"
#include "common/verdict.hpp"
#include "vmm/kvm.hpp"

namespace cr3rig::cli {

namespace {

bool has(const std::vector<CapabilityCheck>& caps, const std::string& name)
{
    for (const auto& c : caps)
        if (name == c.name)
            return c.value > 0;
    return false;
}

bool ok(const std::vector<ProbeResult>& probes, const std::string& name)
{
    for (const auto& p : probes)
        if (p.name == name)
            return p.ok;
    return false;
}

void print_meaning(const std::vector<CapabilityCheck>& caps, const std::vector<ProbeResult>& probes,
                   const Backend& backend)
{
    std::printf("what it means\n");
    bool runs = ok(probes, "run a guest to a verdict");
    bool hw = ok(probes, "hardware breakpoints"), step = ok(probes, "single-step");
    std::printf("  - %s\n", runs ? "cr3rig can run guests here (`cr3rig run`, `cr3rig test`)."
                                 : "cr3rig cannot run even a trivial guest here.");
    if (hw && step)
        std::printf("  - CR3 traps work: hardware breakpoints on up to 4 sites, single-step for the\n"
                    "    window between a read and its write (`--inject`, `campaign`).\n");
    else
        std::printf("  - CR3 traps will not work: %s failed; `--inject` and `campaign` cannot run.\n",
                    !hw ? "hardware breakpoints" : "single-step");
    if (!ok(probes, "software breakpoints (int3)"))
        std::printf("  - Software breakpoints (int3) give no #BP exit here: a guest with more CR3 sites\n"
                    "    than debug registers gets patched traps through port 0xef instead (one exit each).\n");
    else
        std::printf("  - Software breakpoints (int3) work: a guest with more CR3 sites than debug\n"
                    "    registers gets int3 patched over each site (one exit each).\n");
    if (!has(caps, "KVM_CAP_X86_APIC_BUS_CYCLES_NS"))
        std::printf("  - No KVM_CAP_X86_APIC_BUS_CYCLES_NS (Linux >= 6.11): the rig clock is unavailable,\n"
                    "    so `--rig-clock` and campaigns stop with exit 4; host-time runs still work.\n");
    if (backend.name.rfind("PVM", 0) == 0)
        std::printf("  - Guest kernel code runs emulated (~300x slower than native) and each exit costs\n"
                    "    ~6 us: expect a ~100 ms seed scenario and ~10 us per trapped CR3 access.\n");
    else if (backend.nested)
        std::printf("  - This host is itself a virtual machine (nested virtualisation): exits cost more\n"
                    "    than on bare metal.\n");
}

// The instructions the backend failed in the probe and cr3rig completed.
void print_completion(const CompletionProbe& p)
{
    std::printf("instruction completion (builtin:cpl0-instructions, each instruction at CPL0)\n");
    if (!p.ran) {
        std::printf("  not probed: %s\n", p.detail.c_str());
        return;
    }
    if (p.completed.empty())
        std::printf("  the backend emulated every instruction itself: nothing to complete here\n");
    else {
        std::string names;
        for (const auto& [name, count] : p.completed)
            names += names.empty() ? name : ", " + name;
        std::printf("  the backend cannot emulate: %s\n", names.c_str());
        std::printf("  cr3rig completes them (docs/completion.md); `cr3rig run --no-complete` shows the raw backend\n");
    }
    std::printf("  the guest's own checks: %s\n", p.detail.c_str());
    for (const auto& f : p.failed)  // with no exit to complete, e.g. PVM's own #UD for movbe
        std::printf("    failed without an exit cr3rig could complete: %s\n", f.c_str());
}

int doctor()
{
    std::printf("cr3rig doctor\n");
    std::string device = default_kvm_path();
    if (auto reason = kvm_unusable_reason(device)) {
        std::printf("  %-22s UNUSABLE: %s\n", device.c_str(), reason->c_str());
        std::printf("  %-22s %s\n", "backend", detect_backend().name.c_str());
        std::printf("verdict: cr3rig cannot run here (exit 4). On a GitHub-hosted runner, enable\n"
                    "/dev/kvm with a udev rule (README, \"GitHub Actions\"); elsewhere load kvm_intel or\n"
                    "kvm_amd and give this user read-write access to %s.\n",
                    device.c_str());
        return exit_code_of(VerdictKind::Skip);
    }
    Kvm kvm(device);
    Backend backend = detect_backend();
    std::printf("  %-22s ok: opened read-write, KVM API version %d\n", device.c_str(), kvm.api_version());
    std::printf("  %-22s %s%s\n", "backend", backend.name.c_str(),
                backend.nested ? "; nested: this machine is itself a VM" : "");
    std::printf("  %-22s %s\n", "", backend.detail.c_str());

    auto caps = check_capabilities();
    std::printf("capabilities\n");
    bool required_ok = true;
    for (const auto& c : caps) {
        std::printf("  %-4s %-32s %s%s\n", c.value > 0 ? "yes" : "no", c.name, c.used_for,
                    c.required ? " (required)" : "");
        required_ok &= !c.required || c.value > 0;
    }

    std::printf("guest probes (builtin:doctor-probe)\n");
    auto probes = run_guest_probes();
    for (const auto& p : probes)
        std::printf("  %-4s %-32s %s\n", p.ok ? "ok" : "FAIL", p.name.c_str(), p.detail.c_str());
    print_completion(probe_completion());
    print_meaning(caps, probes, backend);

    bool runs = required_ok && ok(probes, "run a guest to a verdict");
    std::printf("verdict: %s\n", runs ? "cr3rig can run here (exit 0)" : "cr3rig cannot run here (exit 4)");
    return exit_code_of(runs ? VerdictKind::Pass : VerdictKind::Skip);
}

}  // namespace

void add_doctor_command(CLI::App& app, int* exit_code)
{
    auto* cmd = app.add_subcommand("doctor", "Check that this host can run the rig: KVM, backend, capabilities, probes");
    cmd->footer("Exit codes: 0 the rig can run guests here, 4 it cannot.");
    cmd->callback([exit_code] { *exit_code = doctor(); });
}

}  // namespace cr3rig::cli
