// What the trap engine does at each trapped instruction: records the event with the
// task it happened in, performs the CR3 access for the guest, and injects the
// preemption the policy asks for.
#include "traps/trap_engine.hpp"

#include <algorithm>

#include "traps/trap_detail.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/kvm.hpp"
#include "vmm/page_walk.hpp"

namespace cr3rig {

using namespace trap_detail;

TrapEvent TrapEngine::make_event(RunContext& ctx, EventKind kind, uint64_t rip)
{
    const kvm_regs& r = ctx.vcpu.synced_regs();
    TrapEvent e;
    e.seq = ++seq_;
    e.kind = kind;
    e.rip = rip;
    e.symbol = ctx.image.symbolize(rip).value_or("");
    e.rsp = r.rsp;
    e.cr3 = ctx.vcpu.synced_sregs().cr3;
    e.guest_ns = ctx.vm.clock_ns();
    e.host_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count());
    add_task_info(ctx, e);
    return e;
}

// current, its pid and name, and the pgds of its mm and active_mm, read through the
// guest's page tables. Pointers the guest holds are virtual; pgds are compared with
// CR3 as physical addresses.
void TrapEngine::add_task_info(RunContext& ctx, TrapEvent& e)
{
    if (!offsets_)
        return;
    const GuestMemory& mem = ctx.memory;
    uint64_t cr3 = e.cr3;
    auto task = read_guest_u64(mem, cr3, offsets_->current);
    if (!task || !*task)
        return;
    auto pid = read_guest_u64(mem, cr3, *task + offsets_->task_pid);
    auto name_ptr = read_guest_u64(mem, cr3, *task + offsets_->task_name);
    TaskId id;
    id.pid = pid ? static_cast<int32_t>(*pid & 0xffffffff) : -1;
    if (name_ptr && *name_ptr)
        id.name = read_guest_cstring(mem, cr3, *name_ptr, 32).value_or("");
    e.task = id;
    auto pgd_of = [&](uint64_t mm_field) -> std::optional<uint64_t> {
        auto mm = read_guest_u64(mem, cr3, *task + mm_field);
        if (!mm || !*mm)
            return std::nullopt;
        auto pgd = read_guest_u64(mem, cr3, *mm + offsets_->mm_pgd);
        if (!pgd)
            return std::nullopt;
        return translate(mem, cr3, *pgd);
    };
    e.active_mm_pgd = pgd_of(offsets_->task_active_mm);
    e.own_mm_pgd = pgd_of(offsets_->task_mm);
}

void TrapEngine::on_read(RunContext& ctx, const Cr3Site& site)
{
    stats_.reads++;
    TrapEvent e = make_event(ctx, EventKind::Cr3Read, site.address);
    bool inject = options_.policy.should_inject();
    unsigned measure = inject ? 0 : options_.measure_windows;
    if (!inject && !measure && !full_step_ && site.reg_index >= 0) {
        e.value = e.cr3;  // what `mov %cr3, reg` returns
        record(e);
        emulate(ctx, site, e.value);
        return;
    }
    // Execute the read one step, so its register holds the value read, then K more
    // steps, then inject. (Also the way in full-step mode, injecting or not.)
    pending_ = PendingRead{e, site, 1 + (inject ? options_.policy.delay() : measure), inject, false};
    if (options_.measure_windows)
        windows_.push_back(0);  // an injected read keeps its place, with no window
    arm(ctx, true);
}

// Performs a trapped `mov` to or from CR3 for the guest and moves RIP past it, so
// leaving the breakpoint costs no second exit. Only used where the instruction's
// whole effect is known: a write loads `value` (bit 63 is PCID's no-flush hint, not
// part of CR3), a read puts CR3 in the register.
void TrapEngine::emulate(RunContext& ctx, const Cr3Site& site, uint64_t value)
{
    kvm_regs& regs = ctx.vcpu.regs_for_write();
    if (site.kind == SiteKind::Cr3Write) {
        kvm_sregs& sregs = ctx.vcpu.sregs_for_write();
        sregs.cr3 = (sregs.cr4 & kCr4Pcide) ? value & ~kCr3NoFlush : value;
    } else {
        set_reg_value(regs, site.reg_index, value);
    }
    regs.rip += site.bytes.size();
}

// Returns true once the read's window is over (recorded, injected if asked).
bool TrapEngine::on_single_step(RunContext& ctx)
{
    PendingRead& p = *pending_;
    if (!p.recorded) {
        p.event.value = reg_value(ctx.vcpu.synced_regs(), p.site.reg_index);
        record(p.event);
        p.recorded = true;
    }
    uint64_t rip = ctx.vcpu.synced_regs().rip;
    auto next = trapped_.find(rip);
    bool at_write = next != trapped_.end() && next->second.kind == SiteKind::Cr3Write;
    bool measuring = !p.inject && options_.measure_windows;
    p.steps++;
    if (measuring && at_write)
        windows_.back() = p.steps;
    if (--p.steps_left > 0 && !at_write)
        return false;  // keep stepping
    if (p.inject) {
        inject(ctx);
    } else {
        pending_.reset();
        arm(ctx, false);
    }
    return true;
}

void TrapEngine::inject(RunContext& ctx)
{
    uint32_t vector = timer_vector(ctx);
    auto trapped_at = pending_->trapped_at;
    pending_.reset();
    arm(ctx, false);
    if (vector < 32) {
        note("LAPIC timer vector " + std::to_string(vector) + " is not set up: no injection");
        return;
    }
    ctx.vm.signal_msi(vector);
    stats_.injections++;
    stats_.injection_host_ns += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - trapped_at).count());
    TrapEvent e = make_event(ctx, EventKind::Injection, ctx.vcpu.synced_regs().rip);
    e.value = vector;
    record(e);
}

void TrapEngine::on_write(RunContext& ctx, const Cr3Site& site)
{
    stats_.writes++;
    TrapEvent e = make_event(ctx, EventKind::Cr3Write, site.address);
    e.value = reg_value(ctx.vcpu.synced_regs(), site.reg_index);
    record(e);
    // Writing the special registers back also re-queues an interrupt KVM is in the
    // middle of injecting (sregs.interrupt_bitmap): then let the CPU do the write.
    const auto& pending = ctx.vcpu.synced_sregs().interrupt_bitmap;
    bool injecting = std::any_of(std::begin(pending), std::end(pending), [](uint64_t w) { return w != 0; });
    if (full_step_ || site.reg_index < 0 || injecting)
        step_over_breakpoint(ctx);
    else
        emulate(ctx, site, e.value);
}

// At the first instruction of the #PF handler the CPU has pushed the error code and
// the faulting context: [rsp] error code, [rsp + 8] rip.
void TrapEngine::on_page_fault(RunContext& ctx)
{
    stats_.page_faults++;
    TrapEvent e = make_event(ctx, EventKind::PageFault, *pf_entry_);
    const kvm_sregs& s = ctx.vcpu.synced_sregs();
    e.fault_addr = s.cr2;
    e.value = s.cr2;
    e.error_code = read_guest_u64(ctx.memory, s.cr3, e.rsp).value_or(0);
    e.fault_rip = read_guest_u64(ctx.memory, s.cr3, e.rsp + 8).value_or(0);
    record(e);
    step_over_breakpoint(ctx);
}

void TrapEngine::on_flush(RunContext& ctx, const Cr3Site& site)
{
    stats_.flushes++;
    TrapEvent e = make_event(ctx, EventKind::Flush, site.address);
    e.instruction = name_of(site.kind);
    if (site.kind == SiteKind::Cr4Write)
        e.value = reg_value(ctx.vcpu.synced_regs(), site.reg_index);
    record(e);
    step_over_breakpoint(ctx);
}

}  // namespace cr3rig
