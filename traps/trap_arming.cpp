// Where the trap engine traps: the sites it uses, the debug registers it arms for
// them, the #PF entry it follows through IDT changes, and rescans after the guest
// rewrites its code.
#include "traps/trap_engine.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "traps/debug_slots.hpp"
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
    plan_slots();
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

unsigned DebugSlots::used() const { return reads + writes + (pf_entry ? 1 : 0) + flushes + lidts; }

DebugSlots plan_debug_slots(unsigned reads, unsigned writes, size_t flush_sites, size_t lidt_sites,
                            bool pf_entry_known)
{
    DebugSlots slots{reads + writes > kHwSlots, reads, writes, false, 0, 0};
    if (slots.single_step)
        return slots;
    slots.pf_entry = slots.used() < kHwSlots && (lidt_sites > 0 || pf_entry_known);
    slots.flushes = static_cast<unsigned>(std::min<size_t>(flush_sites, kHwSlots - slots.used()));
    slots.lidts = static_cast<unsigned>(std::min<size_t>(lidt_sites, kHwSlots - slots.used()));
    return slots;
}

std::string describe(const DebugSlots& s)
{
    if (s.single_step)
        return "single-step through all guest code: " + std::to_string(s.reads) + " reads + " +
               std::to_string(s.writes) + " writes > " + std::to_string(kHwSlots) +
               " debug registers, and software breakpoints fail on nested hosts (int3 at CPL0)";
    return "hardware breakpoints: " + std::to_string(s.reads) + " read, " + std::to_string(s.writes) + " write" +
           (s.pf_entry ? ", #PF entry" : "") + (s.flushes ? ", " + std::to_string(s.flushes) + " flush" : "") +
           (s.lidts ? ", " + std::to_string(s.lidts) + " lidt" : "") + " (" + std::to_string(s.used()) + " of " +
           std::to_string(kHwSlots) + " slots)";
}

std::string TrapEngine::backend() const { return describe(slots_); }

void TrapEngine::plan_slots()
{
    unsigned reads = 0, writes = 0;
    for (const auto& [addr, site] : trapped_)
        (site.kind == SiteKind::Cr3Read ? reads : writes)++;
    slots_ = plan_debug_slots(reads, writes, flush_sites_.size(), idt_loads_.size(), pf_entry_.has_value());
    full_step_ = slots_.single_step;
}

// Programs the debug registers as slots_ shares them out (in its order, so a slot
// does not move when the #PF entry is found), or single-steps.
void TrapEngine::arm(RunContext& ctx, bool single_step)
{
    plan_slots();
    kvm_guest_debug dbg{};
    dbg.control = KVM_GUESTDBG_ENABLE;
    if (single_step || full_step_) {
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
    for (const auto& [addr, site] : trapped_)
        use_slot(addr);
    if (slots_.pf_entry)
        use_slot(pf_entry_);  // none yet: the slot waits, disabled, for the guest's IDT
    flush_armed_.clear();
    for (auto it = flush_sites_.begin(); flush_armed_.size() < slots_.flushes; ++it) {
        use_slot(it->first);
        flush_armed_.push_back(it->first);
    }
    auto lidt = idt_loads_.begin();
    for (unsigned i = 0; i < slots_.lidts; i++)
        use_slot(*lidt++);
    note_untrapped();
    dbg.arch.debugreg[7] = dr7;
    ctx.vcpu.set_guest_debug(dbg);
}

// What no debug register was left for, said once in the notes.
void TrapEngine::note_untrapped()
{
    if (slots_.flushes < flush_sites_.size())
        note(std::to_string(flush_sites_.size() - slots_.flushes) +
             " TLB-flush sites (invlpg/invpcid/mov cr4) not trapped: no debug register left");
    // IDT loads come last: the IDT is also re-read at every exit, so only a fault
    // between a `lidt` and the next exit can be missed without them.
    if (slots_.lidts < idt_loads_.size())
        note(std::to_string(idt_loads_.size() - slots_.lidts) +
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
