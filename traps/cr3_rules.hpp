// What the CPU does with `mov` to and from CR3 in 64-bit mode, for the trap engine,
// which performs trapped accesses for the guest and must do exactly what the CPU would
// (Intel SDM vol. 2B "MOV - Move to/from Control Registers", vol. 3A 4.5 and 4.10.4.1):
// - at CPL > 0 either direction raises #GP(0);
// - a write with a reserved bit set raises #GP(0) and leaves CR3 as it was. Reserved
//   are bits 63:MAXPHYADDR, except bit 63 when CR4.PCIDE = 1 (then it is the no-flush
//   hint, never stored) and bits 62:61 when the CPU has LAM (its CR3 controls). With
//   PCIDE = 0 bit 63 is reserved like the others: KVM checks it the same way.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace cr3rig {

constexpr uint64_t kCr3PcidNoFlush = 1ull << 63;
constexpr uint64_t kCr3LamBits = 3ull << 61;  // LAM_U57 (61) and LAM_U48 (62)
constexpr uint64_t kCr4PcidEnable = 1ull << 17;

struct Cr3Rules {
    unsigned maxphyaddr = 36;  // CPUID.80000008H:EAX[7:0]; 36 where that leaf is absent
    bool lam = false;          // CPUID.(EAX=7,ECX=1):EAX[26]

    // The guest's rules from the CPUID table its vCPU was given.
    static Cr3Rules of_cpuid(const std::vector<kvm_cpuid_entry2>& entries)
    {
        auto find = [&](uint32_t function, uint32_t index) -> const kvm_cpuid_entry2* {
            for (const auto& e : entries) {
                if (e.function == function && e.index == index)
                    return &e;
            }
            return nullptr;
        };
        Cr3Rules rules;
        const auto* max_extended = find(0x80000000, 0);
        const auto* sizes = find(0x80000008, 0);
        if (max_extended && max_extended->eax >= 0x80000008 && sizes && (sizes->eax & 0xff) != 0)
            rules.maxphyaddr = sizes->eax & 0xff;
        const auto* leaf7 = find(7, 0);
        const auto* leaf7_1 = find(7, 1);
        rules.lam = leaf7 && leaf7->eax >= 1 && leaf7_1 && (leaf7_1->eax & (1u << 26));
        return rules;
    }

    // The bits of a value written to CR3 that raise #GP(0) when set.
    uint64_t reserved_bits(uint64_t cr4) const
    {
        uint64_t reserved = maxphyaddr >= 64 ? 0 : ~0ull << maxphyaddr;
        if (lam)
            reserved &= ~kCr3LamBits;
        if (cr4 & kCr4PcidEnable)
            reserved &= ~kCr3PcidNoFlush;
        return reserved;
    }

    bool write_faults(uint64_t value, uint64_t cr4) const { return (value & reserved_bits(cr4)) != 0; }

    // What CR3 holds after a write that does not fault.
    static uint64_t loaded(uint64_t value, uint64_t cr4)
    {
        return (cr4 & kCr4PcidEnable) ? value & ~kCr3PcidNoFlush : value;
    }
};

// The CPL is the low two bits of CS (SDM vol. 3A 5.5); control registers are CPL 0's.
inline bool cr_access_faults_at(const kvm_sregs& sregs) { return (sregs.cs.selector & 3) != 0; }

}  // namespace cr3rig
