// A way for the trap engine (traps/) to take part in a run without the run loop
// knowing anything about CR3: it sees the machine once set up, every exit before
// dispatch, and the result before it is returned.
#pragma once

#include <chrono>

#include "vmm/dispatch.hpp"

namespace cr3rig {

class BootImage;
class GuestMemory;
class Vcpu;
class Vm;
struct RunResult;

struct RunContext {
    Vm& vm;
    Vcpu& vcpu;
    GuestMemory& memory;
    const BootImage& image;  // the trap engine needs its elf64()
};

class RunHook {
public:
    virtual ~RunHook() = default;
    virtual void start(RunContext& ctx) = 0;
    // Sees each exit first. `consumed` = the hook fully handled it (skip dispatch).
    virtual ExitAction on_exit(RunContext& ctx, const VmExit& exit, bool& consumed) = 0;
    virtual void finish(RunContext& ctx, RunResult& result) = 0;
    // How often the run loop should get control back even while the vCPU is halted
    // (an Interrupted exit); zero: only at the deadline.
    virtual std::chrono::microseconds poke_interval() const { return std::chrono::microseconds::zero(); }
};

}  // namespace cr3rig
