// The floor under everything the rig does, measured in-process: what reading the
// vCPU's registers after an exit costs with and without KVM's sync regs, creating
// and destroying a VM by itself, and what one forced preemption costs the rig.
#pragma once

#include <cstdint>
#include <vector>

namespace cr3rig::bench {

struct RegisterReadSamples {
    std::vector<double> get_regs_ns;      // one KVM_GET_REGS ioctl
    std::vector<double> synced_read_ns;   // reading kvm_run's synced copy
    std::vector<double> sync_per_exit_ns; // what syncing costs each exit (round trip with - without)
};
RegisterReadSamples register_read_samples(int runs);

// ms to create a VM with the hello image loaded (memory, vCPU, irqchip, devices) and
// destroy it again, without running it.
std::vector<double> vm_create_destroy_samples(int runs);

// ns of host time per forced preemption on lazytlb-fixed under after-read: from the
// read's breakpoint exit through the single step to the MSI sent (TrapStats).
std::vector<double> injection_samples(int runs);

// ns per `xgetbv` at CPL0 (complete-loop) and how many of them cr3rig completed: on
// a backend that cannot emulate it, one completion each (an exit, the failed
// emulation, the decode and the write-back); elsewhere, whatever the backend costs.
inline constexpr int kCompleteLoopRounds = 20000;  // CR3RIG_COMPLETE_ROUNDS in guest/tests/complete_loop.c

struct CompletionSamples {
    std::vector<double> per_instruction_ns;
    uint64_t completions_per_run = 0;
    bool skipped = false;  // the CPU has no XSAVE: the guest skips itself
};
CompletionSamples completion_samples(int runs);

}  // namespace cr3rig::bench
