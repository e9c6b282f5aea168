// What the trap engine does at each trapped instruction: records the event with the
// task it happened in, performs the CR3 access for the guest, and injects the
// preemption the policy asks for.
#include "traps/trap_engine.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "traps/cr3_rules.hpp"
#include "traps/trap_detail.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/kvm.hpp"
#include "vmm/page_walk.hpp"

namespace cr3rig {

using namespace trap_detail;

namespace {

constexpr uint8_t kGeneralProtection = 13;
constexpr uint64_t kRflagsResume = 1ull << 16;

// Writing the special registers back also re-queues an interrupt KVM is in the middle
// of injecting (sregs.interrupt_bitmap); that interrupt comes before the instruction.
bool kvm_injecting_interrupt(RunContext& ctx)
{
    const auto& pending = ctx.vcpu.synced_sregs().interrupt_bitmap;
    return std::any_of(std::begin(pending), std::end(pending), [](uint64_t w) { return w != 0; });
}

// Why the CPU would raise #GP(0) at this CR3 access instead of performing it, or ""
// if it would perform it (traps/cr3_rules.hpp).
std::string cr3_access_fault(RunContext& ctx, const Cr3Site& site, uint64_t value)
{
    const kvm_sregs& s = ctx.vcpu.synced_sregs();
    if (cr_access_faults_at(s))
        return "at CPL " + std::to_string(s.cs.selector & 3);
    if (site.kind == SiteKind::Cr3Write && Cr3Rules::of_cpuid(ctx.vcpu.cpuid()).write_faults(value, s.cr4))
        return "reserved bits set";
    return "";
}

// Raises #GP(0) at the access as the CPU does: RIP stays at the instruction, CR3 and
// the register as they were, and the RFLAGS image the handler finds has RF set, as
// for every fault. Returns false, doing nothing, while KVM is injecting an interrupt:
// that goes first, so the caller lets the CPU execute (and fault on) the instruction.
bool raise_general_protection(RunContext& ctx)
{
    if (kvm_injecting_interrupt(ctx))
        return false;
    ctx.vcpu.regs_for_write().rflags |= kRflagsResume;
    ctx.vcpu.inject_exception(kGeneralProtection, 0);
    return true;
}

}  // namespace

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

// A CR3 access the CPU would refuse with #GP(0): no access happens, so nothing is
// recorded; the guest gets its #GP, from the rig or, where the rig cannot give it,
// from the CPU executing the instruction.
bool TrapEngine::faults_like_the_cpu(RunContext& ctx, const Cr3Site& site)
{
    if (site.reg_index < 0)
        return false;  // its register is unknown: the CPU executes it anyway
    std::string fault = cr3_access_fault(ctx, site, reg_value(ctx.vcpu.synced_regs(), site.reg_index));
    if (fault.empty())
        return false;
    note("the CR3 " + std::string(site.kind == SiteKind::Cr3Write ? "write" : "read") + " at " + hex(site.address) +
         " raised #GP(0) (" + fault + "): the guest got it, as from the CPU");
    if (full_step_ || !raise_general_protection(ctx))
        step_over_breakpoint(ctx);
    return true;
}

void TrapEngine::on_read(RunContext& ctx, const Cr3Site& site)
{
    if (faults_like_the_cpu(ctx, site))
        return;
    stats_.reads++;
    TrapEvent e = make_event(ctx, EventKind::Cr3Read, site.address);
    bool inject = options_.policy.should_inject();
    unsigned measure = inject ? 0 : options_.measure_windows;
    if (options_.measure_windows)
        windows_.push_back(0);  // an injected read keeps its place, with no window
    if (full_step_ || site.reg_index < 0) {
        // Step the read, so its register holds the value read, then K more steps, then
        // inject (the way in full-step mode, injecting or not).
        pending_ = PendingRead{e, site, 1 + (inject ? options_.policy.delay() : measure), inject, false};
        arm(ctx, true);
        return;
    }
    e.value = e.cr3;  // what `mov %cr3, reg` returns
    record(e);
    emulate(ctx, site, e.value);
    if (!inject && !measure)
        return;
    // The read is done (the window's first instruction): K more steps, then inject.
    pending_ = PendingRead{e, site, 1 + (inject ? options_.policy.delay() : measure), inject, true};
    if (!advance_window(ctx))
        arm(ctx, true);
}

// Performs a trapped `mov` to or from CR3 for the guest and moves RIP past it, so
// leaving the breakpoint costs no second exit. Only used where the instruction's
// whole effect is known, and for accesses that do not fault (faults_like_the_cpu):
// a write loads `value` (with PCIDE, bit 63 is the no-flush hint, not part of CR3),
// a read puts CR3 in the register.
void TrapEngine::emulate(RunContext& ctx, const Cr3Site& site, uint64_t value)
{
    kvm_regs& regs = ctx.vcpu.regs_for_write();
    if (site.kind == SiteKind::Cr3Write) {
        kvm_sregs& sregs = ctx.vcpu.sregs_for_write();
        sregs.cr3 = Cr3Rules::loaded(value, sregs.cr4);
    } else {
        set_reg_value(regs, site.reg_index, value);
    }
    regs.rip += site.bytes.size();
}

// At each single step of a read's window: records the read after its own step.
// Returns true once the window is over (recorded, injected if asked).
bool TrapEngine::on_single_step(RunContext& ctx)
{
    PendingRead& p = *pending_;
    if (!p.recorded) {
        p.event.value = reg_value(ctx.vcpu.synced_regs(), p.site.reg_index);
        record(p.event);
        p.recorded = true;
    }
    return advance_window(ctx);
}

// One more instruction of the read's window has run (the read itself first): true once
// the window is over, at its length or at a CR3 write, with the injection made if asked
// (the caller re-arms otherwise, to step on).
bool TrapEngine::advance_window(RunContext& ctx)
{
    PendingRead& p = *pending_;
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
    if (faults_like_the_cpu(ctx, site))
        return;
    stats_.writes++;
    TrapEvent e = make_event(ctx, EventKind::Cr3Write, site.address);
    e.value = reg_value(ctx.vcpu.synced_regs(), site.reg_index);
    record(e);
    // While KVM is injecting an interrupt, the CPU does the write (kvm_injecting_interrupt).
    if (full_step_ || site.reg_index < 0 || kvm_injecting_interrupt(ctx))
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
