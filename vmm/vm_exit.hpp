// One KVM_RUN exit as a small value type, decoded from the shared kvm_run page.
// Decoding is the only place that reads kvm_run's exit union; everything after it
// (dispatch, counters, tests) works on VmExit values.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace cr3rig {

enum class ExitKind {
    Io,
    Mmio,
    Hlt,
    Debug,
    Shutdown,       // triple fault
    InternalError,  // e.g. emulation failure
    FailEntry,
    Interrupted,    // KVM_RUN returned EINTR: a signal (the watchdog) kicked the vCPU out
    SystemEvent,
    Unknown,
};
inline constexpr size_t kExitKindCount = static_cast<size_t>(ExitKind::Unknown) + 1;

const char* name_of(ExitKind kind);

struct IoAccess {
    uint16_t port = 0;
    uint8_t size = 0;    // 1, 2 or 4 bytes per element
    uint32_t count = 0;  // > 1 for rep ins/outs
    bool out = false;
    std::span<uint8_t> data;  // size * count bytes inside the kvm_run page

    // The first element as a little-endian integer (what `out` wrote).
    uint32_t value() const;
};

struct MmioAccess {
    uint64_t gpa = 0;
    bool write = false;
    std::span<uint8_t> data;  // 1..8 bytes inside the kvm_run page
};

struct VmExit {
    ExitKind kind = ExitKind::Unknown;
    uint32_t raw_reason = 0;  // KVM_EXIT_*
    IoAccess io;              // kind == Io
    MmioAccess mmio;          // kind == Mmio
    uint64_t detail = 0;      // suberror, hardware entry failure reason or system event type
};

// Decodes the exit left in `run` by one KVM_RUN. `run_result` is Vcpu::run()'s value
// (0 or EINTR); `run_size` bounds the I/O data offset the kernel reports.
VmExit decode_exit(kvm_run& run, size_t run_size, int run_result);

}  // namespace cr3rig
