// A way for the trap engine (traps/) to take part in a run without the run loop
// knowing anything about CR3: it sees the machine once set up, every exit before
// dispatch, and reports what it found when the run ends.
#pragma once

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "common/trap_event.hpp"
#include "vmm/dispatch.hpp"

namespace cr3rig {

class BootImage;
class GuestMemory;
class RamSlots;
class Vcpu;
class Vm;

struct RunContext {
    Vm& vm;
    Vcpu& vcpu;
    GuestMemory& memory;
    RamSlots& ram;  // which of memory is read-only to the guest
    const BootImage& image;  // for symbols (the trap engine names the code it traps)
};

// A hook's answer to one exit.
class HookAction {
public:
    enum class Kind {
        Continue,  // not the hook's: dispatch it to the devices as usual
        Consumed,  // the hook handled it fully: resume the vCPU
        Stop,      // end the run (stop() says how)
        Pause,     // not an end: leave run() here, to save the machine or resume it (GuestSession)
    };

    static HookAction proceed() { return HookAction(Kind::Continue); }
    static HookAction consumed() { return HookAction(Kind::Consumed); }
    static HookAction pause() { return HookAction(Kind::Pause); }
    static HookAction end(Stop stop)
    {
        HookAction a(Kind::Stop);
        a.stop_ = std::move(stop);
        return a;
    }

    Kind kind() const { return kind_; }
    const Stop& stop() const { return *stop_; }  // only for Kind::Stop

private:
    explicit HookAction(Kind kind) : kind_(kind) {}
    Kind kind_;
    std::optional<Stop> stop_;
};

class RunHook {
public:
    virtual ~RunHook() = default;
    virtual void start(RunContext& ctx) = 0;
    virtual HookAction on_exit(RunContext& ctx, const VmExit& exit) = 0;
    // The run has ended (not paused), as `end` says: what the hook found. Any finding
    // makes the verdict FAIL (compose_verdict).
    virtual std::vector<Finding> finish(RunContext& ctx, const Stop& end) = 0;
    // How often the run loop should get control back even while the vCPU is halted
    // (an Interrupted exit); zero: only at the deadline.
    virtual std::chrono::microseconds poke_interval() const { return std::chrono::microseconds::zero(); }
};

}  // namespace cr3rig
