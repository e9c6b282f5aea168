// The rig clock: deterministic guest time (TrapOptions::rig_clock_exits).
#include "traps/trap_engine.hpp"

#include <cstring>

#include "traps/trap_detail.hpp"
#include "vmm/kvm.hpp"

namespace cr3rig {

using namespace trap_detail;

uint32_t TrapEngine::timer_vector(RunContext& ctx)
{
    kvm_lapic_state lapic = ctx.vcpu.get_lapic();
    uint32_t lvt = 0;
    std::memcpy(&lvt, lapic.regs + kLapicLvtTimer, sizeof lvt);
    return lvt & 0xff;
}

// The rig clock (TrapOptions::rig_clock_exits). Until the guest has programmed its
// LAPIC timer, each exit looks; then the rig stops it (initial count 0, the LVT and
// its vector stay as the guest set them) and ticks in its place.
void TrapEngine::rig_clock(RunContext& ctx, const VmExit& exit)
{
    if (exit.kind == ExitKind::Interrupted) {
        // Woken by the poke: a halted guest waits for a tick that only the rig gives.
        // One tick per halt: a poke can come again before the guest has even taken the
        // last one (its vector still pending in the IRR), then it must not get another.
        if (rig_timer_vector_ && ctx.vcpu.mp_state() == KVM_MP_STATE_HALTED) {
            kvm_lapic_state lapic = ctx.vcpu.get_lapic();
            uint32_t irr = 0;
            std::memcpy(&irr, lapic.regs + kLapicIrr + (*rig_timer_vector_ / 32) * 16, sizeof irr);
            if (!(irr & (1u << (*rig_timer_vector_ % 32)))) {
                ctx.vm.signal_msi(*rig_timer_vector_);
                stats_.rig_ticks++;
            }
        }
        return;
    }
    // The single steps through a read's window are the rig's own doing and differ from
    // schedule to schedule: they do not advance guest time, so every schedule shares
    // the timeline of the run without injection up to its read.
    if (pending_)
        return;
    clock_exits_++;
    if (!rig_timer_vector_ || clock_exits_ % 64 == 0) {  // the guest may reprogram it
        kvm_lapic_state lapic = ctx.vcpu.get_lapic();
        uint32_t lvt = 0, initial = 0;
        std::memcpy(&lvt, lapic.regs + kLapicLvtTimer, sizeof lvt);
        std::memcpy(&initial, lapic.regs + kLapicTimerInitialCount, sizeof initial);
        if (!(lvt & kLvtMasked) && initial != 0 && (lvt & 0xff) >= 32) {
            uint32_t zero = 0;
            std::memcpy(lapic.regs + kLapicTimerInitialCount, &zero, sizeof zero);
            ctx.vcpu.set_lapic(lapic);
            rig_timer_vector_ = lvt & 0xff;
        }
    }
    if (rig_timer_vector_ && clock_exits_ % options_.rig_clock_exits == 0) {
        ctx.vm.signal_msi(*rig_timer_vector_);
        stats_.rig_ticks++;
    }
}

}  // namespace cr3rig
