// Where the trap engine traps: the sites it uses, the debug registers it arms for
// them, the #PF entry it follows through IDT changes, and rescans after the guest
// rewrites its code.
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
            idt_loads_.insert(site.address);
        else
            flush_sites_[site.address] = site;
    }
    full_step_ = trapped_.size() > kHwSlots;
}

// A guest may rewrite its own code. A breakpoint that fires where the scanned
// instruction no longer is must not be taken for a CR3 access (performing a `mov`
// that is not there would corrupt the guest), so each hit checks the bytes first.
bool TrapEngine::site_intact(RunContext& ctx, const Cr3Site& site)
{
    auto now = read_guest_bytes(ctx.memory, ctx.vcpu.synced_sregs().cr3, site.address, site.bytes.size());
    // Unreadable through the page tables (the CPU may run on a stale TLB entry, as in
    // the very race this rig is for): no evidence of a change, keep the site.
    return !now || *now == site.bytes;
}

// Scans the image's executable segments again as they are in guest memory now, so
// sites the guest removed are dropped and sites it wrote into them are trapped.
void TrapEngine::rescan(RunContext& ctx, uint64_t changed_at)
{
    std::vector<Cr3Site> sites;
    uint64_t cr3 = ctx.vcpu.synced_sregs().cr3;
    for (const auto& segment : image_->segments()) {
        if (!segment.executable || segment.filesz == 0)
            continue;
        auto code = read_guest_bytes(ctx.memory, cr3, segment.vaddr, segment.filesz);
        if (!code)
            continue;  // not mapped under this CR3: nothing to trap there now
        for (auto& site : scan_cr3_sites(code->data(), code->size(), segment.vaddr)) {
            site.symbol = ctx.image.symbolize(site.address).value_or("");
            sites.push_back(std::move(site));
        }
    }
    size_t before = trapped_.size();
    use_sites(std::move(sites));
    stats_.rescans++;
    note("the guest rewrote its code at " + hex(changed_at) + ", a CR3 site: rescanned, " + std::to_string(before) +
         " -> " + std::to_string(trapped_.size()) + " CR3 sites");
    arm(ctx, pending_.has_value() || stepping_over_);
}

void TrapEngine::arm(RunContext& ctx, bool single_step)
{
    kvm_guest_debug dbg{};
    dbg.control = KVM_GUESTDBG_ENABLE;
    if (single_step || full_step_ || tick_owed_) {
        dbg.control |= KVM_GUESTDBG_SINGLESTEP;
        // Stepping a read or over a breakpoint must execute exactly that instruction:
        // no pending interrupt may slip in first. Otherwise interrupts flow.
        if (pending_ || stepping_over_)
            dbg.control |= guest_debug_flags_ & KVM_GUESTDBG_BLOCKIRQ;
    } else {
        dbg.control |= KVM_GUESTDBG_USE_HW_BP;
        uint64_t dr7 = 0x600;
        unsigned slot = 0;
        for (const auto& [addr, site] : trapped_) {
            dbg.arch.debugreg[slot] = addr;
            dr7 |= 2ull << (slot * 2);  // global enable, execute, 1 byte
            slot++;
        }
        if (pf_entry_ && slot < kHwSlots) {
            dbg.arch.debugreg[slot] = *pf_entry_;
            dr7 |= 2ull << (slot * 2);
            slot++;
        }
        flush_armed_.clear();
        for (auto it = flush_sites_.begin(); it != flush_sites_.end() && slot < kHwSlots; ++it, ++slot) {
            dbg.arch.debugreg[slot] = it->first;
            dr7 |= 2ull << (slot * 2);
            flush_armed_.push_back(it->first);
        }
        if (flush_armed_.size() < flush_sites_.size())
            note(std::to_string(flush_sites_.size() - flush_armed_.size()) +
                 " TLB-flush sites (invlpg/invpcid/mov cr4) not trapped: no debug register left");
        // IDT loads come last: the IDT is also re-read at every exit, so only a fault
        // between a `lidt` and the next exit can be missed without them.
        size_t idt_armed = 0;
        for (auto it = idt_loads_.begin(); it != idt_loads_.end() && slot < kHwSlots; ++it, ++slot, ++idt_armed) {
            dbg.arch.debugreg[slot] = *it;
            dr7 |= 2ull << (slot * 2);
        }
        if (idt_armed < idt_loads_.size())
            note(std::to_string(idt_loads_.size() - idt_armed) +
                 " lidt sites not trapped (no debug register left): the #PF entry is found again at the next "
                 "exit after an IDT load, so faults in between are not seen");
        dbg.arch.debugreg[7] = dr7;
    }
    ctx.vcpu.set_guest_debug(dbg);
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
    if (idt_limit_ >= kPageFaultVector * 16 + 15 && (full_step_ || trapped_.size() < kHwSlots)) {
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
