// The run loop of a machine with more than one vCPU: one host thread per vCPU, each in
// its own KVM_RUN loop, every exit dispatched to the one set of devices under one
// mutex (devices are not thread-safe). The first Stop (a device's, a crash's, the
// deadline's) ends the run for all: the watchdog kicks every thread out of KVM_RUN
// and all are joined before this returns. No hook: the trap engine traps one vCPU.
#pragma once

#include <chrono>

#include "vmm/completion/complete_on_vcpu.hpp"
#include "vmm/dispatch.hpp"

namespace cr3rig {

struct Machine;

struct VcpuThreadsEnd {
    Stop stop;
    unsigned vcpu;  // whose exit (or whose thread's error) ended the run
};

VcpuThreadsEnd run_vcpu_threads(Machine& m, ExitStats& stats, CompletionCounts& completions,
                                std::chrono::steady_clock::time_point deadline);

}  // namespace cr3rig
