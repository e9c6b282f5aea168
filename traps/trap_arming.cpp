// Where the trap engine traps: the sites it uses, the plan for them and the debug
// registers it arms, the #PF entry it follows through IDT changes, and rescans after
// the guest rewrites its code.
#include "traps/trap_engine.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "traps/trap_detail.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/kvm.hpp"
#include "vmm/page_walk.hpp"

namespace cr3rig {

using namespace trap_detail;

void TrapEngine::use_sites(std::vector<Cr3Site> sites)
{
    sites_ = std::move(sites);
    trapped_.clear();
    flush_sites_.clear();
    idt_loads_.clear();
    for (const auto& site : sites_) {
        if (site.kind == SiteKind::Cr3Read || site.kind == SiteKind::Cr3Write)
            trapped_[site.address] = site;
        else if (site.kind == SiteKind::Lidt)
            idt_loads_[site.address] = site;
        else
            flush_sites_[site.address] = site;
    }
    plan();
}

// The guest wrote to its text (on_text_write): scans it again as the guest now has
// it, so sites it removed are dropped and sites it wrote are trapped, before it can
// run them.
void TrapEngine::rescan(RunContext& ctx, uint64_t changed_at)
{
    std::vector<Cr3Site> sites = text_->scan(*image_);
    auto same = [](const Cr3Site& a, const Cr3Site& b) { return a.address == b.address && a.bytes == b.bytes; };
    if (std::equal(sites.begin(), sites.end(), sites_.begin(), sites_.end(), same))
        return;
    size_t before = trapped_.size();
    use_sites(std::move(sites));
    stats_.rescans++;
    note("the guest rewrote its code at " + hex(changed_at) + ": rescanned, " + std::to_string(before) + " -> " +
         std::to_string(trapped_.size()) + " CR3 sites");
    apply_patches(ctx);
    arm(ctx, pending_.has_value() || stepping_over_);
}

std::string TrapEngine::backend() const { return describe(plan_); }

void TrapEngine::plan()
{
    SiteCounts counts;
    for (const auto& [addr, site] : trapped_)
        (site.kind == SiteKind::Cr3Read ? counts.reads : counts.writes)++;
    counts.flushes = static_cast<unsigned>(flush_sites_.size());
    counts.lidts = static_cast<unsigned>(idt_loads_.size());
    plan_ = plan_traps(options_.backend, host_patch_kind(), counts, pf_entry_.has_value());
    full_step_ = plan_.single_step;
}

// Programs the debug registers as slots_ shares them out (in its order, so a slot
// does not move when the #PF entry is found), or single-steps.
void TrapEngine::arm(RunContext& ctx, bool single_step)
{
    plan();
    kvm_guest_debug dbg{};
    dbg.control = KVM_GUESTDBG_ENABLE;
    if (plan_.patch_kind == TrapBackend::Int3)
        dbg.control |= KVM_GUESTDBG_USE_SW_BP;  // #BP exits to the VMM where the CPU raises it
    if (single_step || full_step_) {
        lift_patch_at_rip(ctx);  // the step runs the guest's own instruction
        dbg.control |= KVM_GUESTDBG_SINGLESTEP;
        // Stepping a read or over a breakpoint must execute exactly that instruction:
        // no pending interrupt may slip in first. Otherwise interrupts flow.
        if (pending_ || stepping_over_)
            dbg.control |= guest_debug_flags_ & KVM_GUESTDBG_BLOCKIRQ;
        ctx.vcpu.set_guest_debug(dbg);
        return;
    }
    dbg.control |= KVM_GUESTDBG_USE_HW_BP;
    uint64_t dr7 = 0x600;
    unsigned slot = 0;
    auto use_slot = [&](std::optional<uint64_t> addr) {
        if (addr) {
            dbg.arch.debugreg[slot] = *addr;
            dr7 |= 2ull << (slot * 2);  // global enable, execute, 1 byte
        }
        slot++;
    };
    if (!plan_.patch_cr3()) {
        for (const auto& [addr, site] : trapped_)
            use_slot(addr);
    }
    if (plan_.slots.pf_entry)
        use_slot(pf_entry_);  // none yet: the slot waits, disabled, for the guest's IDT
    auto flush = flush_sites_.begin();
    for (unsigned i = 0; i < plan_.slots.flushes; i++)
        use_slot((flush++)->first);
    auto lidt = idt_loads_.begin();
    for (unsigned i = 0; i < plan_.slots.lidts; i++)
        use_slot((lidt++)->first);
    note_untrapped();
    dbg.arch.debugreg[7] = dr7;
    ctx.vcpu.set_guest_debug(dbg);
}

// What no debug register was left for, said once in the notes.
void TrapEngine::note_untrapped()
{
    unsigned flushes = plan_.slots.flushes + plan_.patched.flushes, lidts = plan_.slots.lidts + plan_.patched.lidts;
    if (flushes < flush_sites_.size())
        note(std::to_string(flush_sites_.size() - flushes) +
             " TLB-flush sites (invlpg/invpcid/mov cr4) not trapped: no debug register left");
    // IDT loads come last: the IDT is also re-read at every exit, so only a fault
    // between a `lidt` and the next exit can be missed without them.
    if (lidts < idt_loads_.size())
        note(std::to_string(idt_loads_.size() - lidts) +
             " lidt sites not trapped (no debug register left): the #PF entry is found again at the next "
             "exit after an IDT load, so faults in between are not seen");
}

// The guest's IDT can move or change at run time (it has none at entry): find the
// #PF handler again whenever IDTR changes, and re-arm.
void TrapEngine::watch_idt(RunContext& ctx)
{
    const kvm_sregs& s = ctx.vcpu.synced_sregs();
    if (s.idt.base == idt_base_ && s.idt.limit == idt_limit_)
        return;
    idt_base_ = s.idt.base;
    idt_limit_ = s.idt.limit;
    std::optional<uint64_t> entry;
    if (idt_limit_ >= kPageFaultVector * 16 + 15 && (full_step_ || plan_.patch_cr3() || trapped_.size() < kHwSlots)) {
        auto low = read_guest_u64(ctx.memory, s.cr3, idt_base_ + kPageFaultVector * 16);
        auto high = read_guest_u64(ctx.memory, s.cr3, idt_base_ + kPageFaultVector * 16 + 8);
        if (low && high && (*low & (1ull << 47)))  // present gate
            entry = (*low & 0xffff) | ((*low >> 32) & 0xffff0000) | ((*high & 0xffffffff) << 32);
    }
    if (entry != pf_entry_) {
        pf_entry_ = entry;
        arm(ctx, pending_.has_value() || stepping_over_);
    }
}

// Leave a breakpoint by single-stepping its instruction with the breakpoints off.
// (Setting RFLAGS.RF instead does not work on nested hosts, where CPL0 code is
// emulated: the breakpoint fires again at once.)
void TrapEngine::step_over_breakpoint(RunContext& ctx)
{
    if (full_step_)
        return;  // the next step executes it anyway
    stepping_over_ = true;
    arm(ctx, true);
}

}  // namespace cr3rig
