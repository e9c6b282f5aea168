// What `cr3rig doctor` finds out about the host: the KVM device, its capabilities,
// the virtualisation backend under it, and what a tiny guest shows works.
#pragma once

#include <optional>
#include <map>
#include <string>
#include <vector>

namespace cr3rig::cli {

struct CapabilityCheck {
    const char* name;
    long number;
    const char* used_for;
    bool required;
    int value = 0;  // KVM_CHECK_EXTENSION: 0 = absent
};

// The loaded KVM modules and CPU flags, put in words: "VT-x (kvm_intel)", etc.
struct Backend {
    std::string name;
    bool nested = false;  // this host is itself a guest (the CPU's hypervisor flag)
    std::string detail;
};

struct ProbeResult {
    std::string name;
    bool ok = false;
    std::string detail;  // what was seen, one line
};

Backend detect_backend();
// Asks KVM (the system fd, and a VM for the VM-level ones) for each capability the
// rig uses. Throws KvmUnavailable if there is no usable KVM at all.
std::vector<CapabilityCheck> check_capabilities();
// Runs the doctor-probe guest: to a verdict, then stopping at a hardware breakpoint,
// single-stepping, and at a software breakpoint (int3).
std::vector<ProbeResult> run_guest_probes();

// What the backend cannot emulate at CPL0 and cr3rig completes: the cpl0-instructions
// guest run once with completion on, each instruction it executes checked by the
// guest itself.
struct CompletionProbe {
    bool ran = false;                      // false: detail says why
    std::map<std::string, uint64_t> completed;  // instruction -> completions (the backend failed them)
    std::string detail;                    // the guest's verdict, one line
    std::vector<std::string> failed;       // the guest's FAIL: lines (checks the backend got wrong)
};
CompletionProbe probe_completion();

}  // namespace cr3rig::cli
