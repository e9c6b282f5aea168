// The vCPU state an instruction completer reads and changes: the registers, the
// special registers, XCR0, the guest's CPUID and, for the completers that ask for it,
// the XSAVE image. Plain data, so that completers are unit-tested without KVM.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace cr3rig {

// KVM_GET_XSAVE's 4 KiB image in the standard (non-compacted) format: the legacy
// x87/SSE area at 0 (FCW at 0, FSW at 2, MXCSR at 24), the header at 512
// (XSTATE_BV, XCOMP_BV), each extended component at its CPUID.0DH offset.
struct XsaveImage {
    std::array<uint8_t, 4096> bytes{};
};

struct CpuState {
    kvm_regs regs{};
    kvm_sregs sregs{};
    uint64_t xcr0 = 1;                        // XCR0 (KVM_GET_XCRS); x87 alone without XSAVE
    std::vector<kvm_cpuid_entry2> cpuid;      // what the guest's CPUID answers
    std::optional<XsaveImage> xsave;           // KVM_GET_XSAVE's image, when the completer needs it
    uint32_t pkru = 0;                        // PKRU, read when CR4.PKE is set (protection keys)
};

// Architectural bits the completers test by name.
namespace cr0 {
inline constexpr uint64_t kPE = 1ull << 0, kMP = 1ull << 1, kEM = 1ull << 2, kTS = 1ull << 3, kNE = 1ull << 5,
                          kWP = 1ull << 16, kAM = 1ull << 18, kPG = 1ull << 31;
}
namespace cr4 {
inline constexpr uint64_t kPAE = 1ull << 5, kPGE = 1ull << 7, kOSFXSR = 1ull << 9, kLA57 = 1ull << 12,
                          kPCIDE = 1ull << 17, kOSXSAVE = 1ull << 18, kSMEP = 1ull << 20, kSMAP = 1ull << 21,
                          kPKE = 1ull << 22;
}
namespace efer {
inline constexpr uint64_t kLME = 1ull << 8, kLMA = 1ull << 10, kNXE = 1ull << 11;
}
namespace rflags {
inline constexpr uint64_t kCF = 1ull << 0, kPF = 1ull << 2, kAF = 1ull << 4, kZF = 1ull << 6, kSF = 1ull << 7,
                          kTF = 1ull << 8, kIF = 1ull << 9, kOF = 1ull << 11, kVM = 1ull << 17, kAC = 1ull << 18;
inline constexpr uint64_t kArithmetic = kCF | kPF | kAF | kZF | kSF | kOF;
}

// Exception vectors.
namespace vector {
inline constexpr uint8_t kDE = 0, kBP = 3, kOF = 4, kUD = 6, kNM = 7, kNP = 11, kSS = 12, kGP = 13, kPF = 14, kMF = 16,
                         kAC = 17;
}

// The current privilege level: CS.RPL in protected mode, 3 in virtual-8086 mode, 0 in real mode.
unsigned current_privilege(const CpuState& cpu);
// Alignment checking is on for data accesses: CPL3, CR0.AM and RFLAGS.AC (#AC).
bool alignment_checked(const CpuState& cpu);
// 64-bit mode: long mode active and a 64-bit code segment.
bool in_64bit_mode(const CpuState& cpu);

// The guest's CPUID has the feature QEMU names `name` (vmm/cpu_model.hpp's table), e.g.
// "movbe". A name the table lacks is a programming error (std::logic_error).
bool guest_has(const CpuState& cpu, std::string_view name);

}  // namespace cr3rig
