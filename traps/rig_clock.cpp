// The rig clock: deterministic guest time (TrapOptions::rig_clock_exits).
#include "traps/trap_engine.hpp"

#include <cstring>

#include "traps/trap_detail.hpp"
#include "vmm/kvm.hpp"
#include "vmm/page_walk.hpp"

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
        // A poke can land right where a step exit was due (after an `iret` to user
        // mode, say) and the backend then reports only this exit: if the guest can
        // take an owed tick here, this is the point the step would have shown.
        if (tick_owed_ && interruptible(ctx)) {
            send_tick(ctx);
            return;
        }
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
    // The single steps through a read's window, and those toward an owed tick, are the
    // rig's own doing and differ from schedule to schedule: they do not advance guest
    // time, so every schedule shares the timeline of the run without injection up to
    // its read.
    if (tick_owed_) {
        if (interruptible(ctx) || missed_interruptible_point(ctx))
            send_tick(ctx);
        return;
    }
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
        if (interruptible(ctx)) {
            send_tick(ctx);
        } else {
            tick_owed_ = true;
            owed_steps_ = 0;
            arm(ctx, true);
        }
    }
}

// A tick is sent only where the guest takes it at once: interrupts on and no
// interrupt shadow. The LAPIC then delivers it at VM entry, before the same guest
// instruction in every run. Sent while interrupts are off, it would wait for the
// guest to turn them on, and the nested backend's emulator notices that at a point
// that depends on how the host split its run (a run under load once counted 253
// faults in a livelock instead of 254). So a tick due while interrupts are off is
// owed: the rig steps the guest to the first instruction where they are on.
bool TrapEngine::interruptible(RunContext& ctx)
{
    const kvm_regs& regs = ctx.vcpu.synced_regs();
    if (!(regs.rflags & kRflagsIf))
        return false;
    if (!ctx.vcpu.get_vcpu_events().interrupt.shadow)
        return true;
    // `sti; hlt`, the idle loop: in the shadow of sti, at a hlt. A tick sent now wakes
    // the hlt at once, the same in every run; stepping over the hlt instead can leave
    // the nested backend's vCPU halted inside the handler with interrupts off.
    auto next = read_guest_bytes(ctx.memory, ctx.vcpu.synced_sregs().cr3, regs.rip, 1);
    return next && (*next)[0] == kHltOpcode;
}

// The backend's stepping can skip a window: on kvm_pvm, CPL3 code runs natively, and
// an `iret` from the #PF handler back to user mode was once not followed by a step
// exit, so the next exit was the same fault again, interrupts off, and the tick
// stayed owed through a whole livelock (2000 faults, never resolved). Arriving at the
// #PF entry while owed means the guest passed a point where it could take the tick:
// send it now (it waits for the guest's next `iret`, as any tick sent with interrupts
// off). A kernel that keeps interrupts off for longer than any step budget gets it too.
bool TrapEngine::missed_interruptible_point(RunContext& ctx)
{
    bool at_fault_entry = pf_entry_ && ctx.vcpu.synced_regs().rip == *pf_entry_;
    return at_fault_entry || ++owed_steps_ > kOwedTickMaxSteps;
}

void TrapEngine::send_tick(RunContext& ctx)
{
    ctx.vm.signal_msi(*rig_timer_vector_);
    stats_.rig_ticks++;
    if (tick_owed_) {
        tick_owed_ = false;
        arm(ctx, pending_.has_value() || stepping_over_);
    }
}

}  // namespace cr3rig
