#include "vmm/cpu_topology.hpp"

namespace cr3rig {

namespace {

constexpr uint32_t kHtt = 1u << 28;  // CPUID.01H:EDX: more than one logical processor per package
constexpr uint32_t kLevelSmt = 1, kLevelCore = 2;

// Leaves 0xB and 0x1F: subleaf 0 is the SMT level, 1 the core level, each of one
// logical processor with no ID bits of its own (shift 0); the rest are invalid.
void set_extended_topology(kvm_cpuid_entry2& e, uint32_t id)
{
    uint32_t level = e.index;
    e.eax = 0;
    e.ebx = level <= 1 ? 1 : 0;
    e.ecx = (level == 0 ? kLevelSmt << 8 : level == 1 ? kLevelCore << 8 : 0) | (level & 0xff);
    e.edx = id;
}

}  // namespace

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> table, uint32_t vcpu_id)
{
    for (auto& e : table) {
        switch (e.function) {
        case 0x1:
            e.ebx = (e.ebx & 0xffff) | (1u << 16) | (vcpu_id << 24);
            e.edx &= ~kHtt;
            break;
        case 0x4:
            // EAX[31:26]: cores per package - 1; [25:14]: logical processors sharing the cache - 1.
            e.eax &= ~((0x3fu << 26) | (0xfffu << 14));
            break;
        case 0xb:
        case 0x1f:
            set_extended_topology(e, vcpu_id);
            break;
        case 0x80000008:
            e.ecx &= ~0xf0ffu;  // [7:0] cores - 1, [15:12] APIC ID bits for the core: one core
            break;
        case 0x8000001e:
            e.eax = vcpu_id;     // extended APIC ID
            e.ebx &= ~0xffffu;  // [7:0] core ID 0, [15:8] threads per core - 1 = 0
            break;
        default:
            break;
        }
    }
    return table;
}

}  // namespace cr3rig
