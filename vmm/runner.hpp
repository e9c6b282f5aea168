// One run of one guest: build the VM, load the image, run to a verdict.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/verdict.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/devices/device.hpp"
#include "vmm/devices/rig_port.hpp"
#include "vmm/completion/complete_on_vcpu.hpp"
#include "vmm/dispatch.hpp"

namespace cr3rig {

class RunHook;

struct RunOptions {
    std::chrono::milliseconds timeout{10'000};
    // `--boot-timeout`: a guest that writes nothing to its console this long after the
    // start ends then (TIMEOUT, "no output from the guest in N s"); vmm/boot_timeout.hpp.
    std::optional<std::chrono::milliseconds> boot_timeout;
    uint64_t memory_bytes = 64ull << 20;  // `cr3rig test` gives hosted tests QEMU's 128 MiB
    // vCPUs (`--smp`): vCPU 0 starts at the image's entry, the others wait for INIT/SIPI
    // from its LAPIC, as on a PC. Hooks (the trap engine) need exactly one.
    unsigned vcpus = 1;
    // The CPU model in QEMU's -cpu syntax (`--cpu`, vmm/cpu_model.hpp); empty = the
    // CPUID KVM supports, unchanged.
    std::string cpu;
    // Optional live observers; the result keeps the console text and counts either way.
    std::function<void(char)> on_console;
    std::function<void(const std::string&)> on_log;
    std::function<void(const TraceRecord&)> on_trace;
    std::function<void(const std::string&)> on_bad_message;
    // The rig's warnings about the configuration, before the run (a CPU feature the
    // host's KVM lacks, left out as QEMU leaves it out).
    std::function<void(const std::string&)> on_warning;
    // What the backend cannot emulate is completed by cr3rig (vmm/completion/); false
    // (`--no-complete`) leaves every such failure a crash.
    bool complete_instructions = true;
    // Notes about the run as it goes (the first completion of each instruction).
    std::function<void(const std::string&)> on_note;
    RunHook* hook = nullptr;  // e.g. the trap engine
    // Nanoseconds per LAPIC bus cycle (KVM_CAP_X86_APIC_BUS_CYCLES_NS), 0 = KVM's 1 ns.
    // The rig clock sets it very slow, so that the guest's own timer cannot fire
    // before the rig has taken it over, however late the host runs the vCPU.
    uint64_t apic_bus_cycle_ns = 0;
    // Multiboot boot information (an ELF64 image refuses both): the command line,
    // verbatim (GRUB and QEMU put the image's name first, and so does `cr3rig run`),
    // and the modules, e.g. kvm-unit-tests' environment as the first.
    std::string cmdline;
    std::vector<BootModule> modules;
    // Devices attached after the machine's own, e.g. the bench port a benchmark reads
    // after the run (harness/bench_port.hpp). Borrowed: they must outlive the run
    // (the GuestSession); their ports must be free; a snapshot keeps their state too.
    std::vector<Device*> extra_devices;
};

struct RunResult {
    Verdict verdict;                       // kind, reason, findings, debug-exit value
    std::string console;                   // what the guest wrote to the UART: the first 1 MiB
    uint64_t console_dropped = 0;          // bytes past that
    std::string crash_dump;                // registers, for Crash verdicts
    ExitStats stats;
    CompletionCounts completions;          // instructions cr3rig completed for the backend
    std::chrono::nanoseconds run_time{0};  // first KVM_RUN to verdict
    uint64_t bad_rig_messages = 0;
    uint64_t dropped_rig_messages = 0;  // past the rig port's rate limit: counted, not shown
    uint64_t unclaimed_port_accesses = 0;
    uint64_t unclaimed_mmio_accesses = 0;  // guest-physical addresses with neither RAM nor a device
    Unclaimed unclaimed;                   // both counts and the first few accesses (describe_unclaimed)
    bool paused = false;  // a hook paused the run (GuestSession); no verdict yet
};

// Throws KvmUnavailable (no usable KVM), BadInput (image does not fit; a hook with
// more than one vCPU), Unsupported (a CPU model or vCPU count this host's KVM cannot
// give) or KvmError (an ioctl failed while setting up). A guest cannot make it throw once running.
// The image is borrowed: it must outlive the call (and a GuestSession).
RunResult run_guest(const BootImage& image, const RunOptions& options);

// A VM with the guest loaded that can run, pause where its hook says so
// (HookAction::pause), be saved, and go back to what was saved as often as needed: campaigns
// run each schedule from the same snapshot instead of booting a new VM.
// What a snapshot keeps: guest memory (restored by KVM dirty log: only the pages
// written since), registers, special, FPU and debug registers, the MSRs a guest
// kernel programs (TSC, SYSCALL/SYSENTER, PAT, KERNEL_GS_BASE, TSC deadline...), LAPIC,
// pending events, MP state, the PIC and IOAPIC, kvmclock, and each device's own state
// (Device::save; the extra devices' too).
// More than one vCPU (RunOptions::vcpus) runs, but takes no hook and no snapshot (BadInput).
class GuestSession {
public:
    GuestSession(const BootImage& image, const RunOptions& options);
    ~GuestSession();
    GuestSession(const GuestSession&) = delete;
    GuestSession& operator=(const GuestSession&) = delete;

    // Runs until a verdict, or until the hook pauses it (result.paused).
    RunResult run(RunHook* hook, std::chrono::milliseconds timeout);
    void take_snapshot();
    void restore_snapshot();
    bool has_snapshot() const;
    uint64_t pages_restored() const;  // by the last restore

private:
    RunResult run_vcpus(std::chrono::milliseconds timeout);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace cr3rig
