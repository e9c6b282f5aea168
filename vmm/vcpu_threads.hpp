// The run loop of a machine with more than one vCPU: one host thread per vCPU, each in
// its own KVM_RUN loop, every exit dispatched to the one set of devices under one
// mutex (devices are not thread-safe). The first Stop (a device's, a crash's, the
// deadline's, the boot timeout's) ends the run for all: the watchdog kicks every thread out of KVM_RUN
// and all are joined before this returns. No hook: the trap engine traps one vCPU.
#pragma once

#include "vmm/dispatch.hpp"

namespace cr3rig {

class BootTimeout;
struct Machine;
struct RunResult;

struct VcpuThreadsEnd {
    Stop stop;
    unsigned vcpu;  // whose exit (or whose thread's error) ended the run
};

// Counts exits and completions into `result`, which the console fills too; `boot`
// gives the deadline.
VcpuThreadsEnd run_vcpu_threads(Machine& m, RunResult& result, BootTimeout& boot);

}  // namespace cr3rig
