// Each vCPU's own CPUID: its APIC ID where CPUID reports one. KVM gives vCPU n the
// LAPIC ID n; kvm-unit-tests (and any SMP guest) matches CPUID's ID against the
// LAPIC's, so they must agree.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace cr3rig {

// The topology it describes is the simplest true one, as QEMU's default `-smp N` on a
// PC: every vCPU is a package of one core of one thread, so the APIC ID is the
// package's. Leaf 1 EBX[31:24] (and [23:16] = 1 logical processor, HTT clear), leaves
// 0xB and 0x1F (SMT and core levels of one each, EDX = x2APIC ID), leaf 4's sharing
// counts, and AMD's 0x80000008 ECX core count and 0x8000001E extended APIC ID.
std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> table, uint32_t vcpu_id);

}  // namespace cr3rig
