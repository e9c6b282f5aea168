// The vCPU's CPUID from a CPU model in QEMU's -cpu syntax,
// `MODEL[,+feat][,-feat][,feat=on|off][,prop=value]`, as kvm-unit-tests' unittests.cfg
// asks for one. A pure function of the table KVM offers and the spec, so that it is
// tested on synthetic tables without KVM.
//
// Models: `host` and `max` are what KVM offers; `qemu64` is QEMU's qemu64 model (its
// feature bits as QEMU defines them, with QEMU's defaults under KVM: x2apic and the
// hypervisor bit on) intersected with what KVM offers. Other models, vendor=,
// phys-bits=, migratable=, Hyper-V (hv-*) and VMX-control (vmx-*) features are
// configurations cr3rig cannot give: Unsupported, naming the part.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cr3rig {

enum class CpuidRegister { Eax, Ebx, Ecx, Edx };

// Where a named feature lives in CPUID.
struct CpuFeature {
    std::string_view name;  // QEMU's spelling
    uint32_t leaf;
    uint32_t subleaf;
    CpuidRegister reg;
    unsigned bit;
};

// The named feature, or nullptr. Underscores read as dashes ("tsc_deadline"), as QEMU does.
const CpuFeature* cpu_feature_named(std::string_view name);

struct CpuModel {
    std::vector<kvm_cpuid_entry2> cpuid;
    // A requested feature KVM does not offer (it stays clear), in QEMU's words:
    // "host doesn't support requested feature: CPUID.01H:ECX.tsc-deadline [bit 24]".
    std::vector<std::string> warnings;
};

// `offered`: what the host's KVM can give (KVM_GET_SUPPORTED_CPUID, plus what the VMM
// knows KVM emulates, e.g. the TSC-deadline timer with the in-kernel irqchip).
// Throws BadInput for a malformed spec (empty, an empty part, "+" alone) and
// Unsupported (with the part it cannot map) for a well-formed one cr3rig cannot give.
CpuModel apply_cpu_model(const std::vector<kvm_cpuid_entry2>& offered, std::string_view spec);

}  // namespace cr3rig
