// Patched traps: the sites the plan gives no debug register are rewritten in the
// guest's text into an instruction that exits to the VMM (`out %al` to the trap port,
// or int3), and recognized at their exits; the guest's own writes to its text, which
// is read-only to it, are performed here and rescanned (docs/traps.md).
#include <algorithm>

#include "common/hex.hpp"
#include "cr3rig/abi.h"
#include "traps/trap_detail.hpp"
#include "traps/trap_engine.hpp"
#include "vmm/completion/complete_on_vcpu.hpp"
#include "vmm/kvm.hpp"
#include "vmm/page_walk.hpp"
#include "vmm/ram_slots.hpp"

namespace cr3rig {

using namespace trap_detail;

namespace {

constexpr uint8_t kOutImm8Al = 0xe6, kNop = 0x90, kInt3 = 0xcc;
constexpr uint64_t kOutLength = 2;
constexpr uint64_t kCr0Paging = 1ull << 31;

// `out %al, $port` padded with nops to the site's length (only the `out` ever runs: the
// rig moves RIP past the site), or int3 over the site's first byte.
std::vector<uint8_t> trap_bytes(TrapBackend kind, size_t site_length)
{
    if (kind == TrapBackend::Int3)
        return {kInt3};
    std::vector<uint8_t> bytes(site_length, kNop);
    bytes[0] = kOutImm8Al;
    bytes[1] = static_cast<uint8_t>(CR3RIG_TRAP_PORT);
    return bytes;
}

}  // namespace

// The text becomes read-only to the guest before it runs: from then on no code can be
// written, by the guest, that the rig has not scanned.
void TrapEngine::protect_text(RunContext& ctx)
{
    text_.emplace(*image_, ctx.memory);
    ctx.ram.set_read_only(text_->pages());
}

// Patches what the plan says is patched and nothing else: sites that are gone or
// changed lose their patch, new ones get one.
void TrapEngine::apply_patches(RunContext& ctx)
{
    if (!text_)
        return;
    std::map<uint64_t, const Cr3Site*> wanted;  // by guest-physical address
    auto want = [&](const Cr3Site& site) {
        if (auto gpa = text_->physical(site.address))
            wanted[*gpa] = &site;
    };
    if (plan_.patch_cr3()) {
        for (const auto& [addr, site] : trapped_)
            want(site);
    }
    // Flush and lidt sites: those after the ones in debug registers (the first, by address).
    auto want_after = [&](const std::map<uint64_t, Cr3Site>& sites, unsigned in_slots, unsigned patched) {
        auto it = std::next(sites.begin(), std::min<size_t>(in_slots, sites.size()));
        for (; it != sites.end() && patched > 0; ++it, patched--)
            want(it->second);
    };
    want_after(flush_sites_, plan_.slots.flushes, plan_.patched.flushes);
    want_after(idt_loads_, plan_.slots.lidts, plan_.patched.lidts);
    std::vector<uint64_t> stale;
    for (const auto& [gpa, patch] : text_->patches()) {
        auto it = wanted.find(gpa);
        if (it == wanted.end() || it->second->bytes != patch.site.bytes)
            stale.push_back(gpa);
    }
    for (uint64_t gpa : stale)
        text_->unpatch(ctx.memory, gpa);
    for (const auto& [gpa, site] : wanted) {
        if (!text_->patch_at(gpa))
            text_->patch(ctx.memory, *site, trap_bytes(plan_.patch_kind, site->bytes.size()));
    }
}

// Where the code at `rip` is in guest memory: through the guest's page tables, or,
// where they do not map it (the CPU can run on TLB entries whose tables are gone: the
// stale pgd of the very race this rig is for), where the image put it.
std::optional<uint64_t> TrapEngine::code_gpa(RunContext& ctx, uint64_t rip)
{
    const kvm_sregs& s = ctx.vcpu.synced_sregs();
    uint64_t linear = s.cs.base + rip;
    if (!(s.cr0 & kCr0Paging))
        return linear;
    if (auto gpa = translate(ctx.memory, s.cr3, linear))
        return gpa;
    return text_ ? text_->physical(linear) : std::nullopt;
}

// The site whose patch made this exit, with RIP set back to the site's instruction
// (the rig then performs it and moves RIP past it, or has the CPU run it), or
// nothing: an exit the guest made itself, which goes on as any other (a guest cannot
// pass its own `out` for a trap: only a patch's own guest-physical address counts).
std::optional<Cr3Site> TrapEngine::patched_hit(RunContext& ctx, const VmExit& exit)
{
    if (!text_ || text_->patches().empty())
        return std::nullopt;
    uint64_t rip = ctx.vcpu.synced_regs().rip;
    auto patch_at = [&](uint64_t at, uint8_t opcode) -> const PatchedText::Patch* {
        auto gpa = code_gpa(ctx, at);
        const PatchedText::Patch* p = gpa ? text_->patch_at(*gpa) : nullptr;
        return p && !p->lifted && p->trap.front() == opcode ? p : nullptr;
    };
    const PatchedText::Patch* hit = nullptr;
    if (exit.kind == ExitKind::Io && exit.io.out && exit.io.port == CR3RIG_TRAP_PORT && exit.io.size == 1 &&
        exit.io.count == 1) {
        // VT-x and SVM exit for `out` with RIP at it, and skip it at the next KVM_RUN unless
        // RIP has moved: complete that first. An emulated `out` (CPL0 on kvm_pvm) exits
        // with RIP already past it.
        if ((hit = patch_at(rip, kOutImm8Al))) {
            ctx.vcpu.complete_pending_io();
        } else if ((hit = patch_at(rip - kOutLength, kOutImm8Al))) {
            rip -= kOutLength;
        }
        if (hit)
            ctx.vcpu.regs_for_write().rip = rip;
    } else if (is_emulation_failure(exit) ||
               (exit.kind == ExitKind::Debug && ctx.vcpu.run_state().debug.arch.exception == kBreakpointVector)) {
        // int3 at CPL0 is an emulation failure on kvm_pvm, a #BP exit (KVM_GUESTDBG_USE_SW_BP)
        // on VT-x and SVM; RIP is at it either way.
        hit = patch_at(rip, kInt3);
    }
    if (!hit)
        return std::nullopt;
    stats_.patched_exits++;
    return hit->site;
}

// A guest write to its read-only text: performed for it, and its sites scanned again.
bool TrapEngine::on_text_write(RunContext& ctx, const VmExit& exit)
{
    if (!text_ || exit.kind != ExitKind::Mmio || !exit.mmio.write || !ctx.ram.read_only(exit.mmio.gpa))
        return false;
    stats_.text_writes++;
    if (text_->guest_write(ctx.memory, exit.mmio.gpa, exit.mmio.data))
        rescan(ctx, exit.mmio.gpa);
    return true;
}

// A single step must run the guest's own instruction, not the trap over it.
void TrapEngine::lift_patch_at_rip(RunContext& ctx)
{
    if (!text_)
        return;
    auto gpa = code_gpa(ctx, ctx.vcpu.synced_regs().rip);
    const PatchedText::Patch* p = gpa ? text_->patch_at(*gpa) : nullptr;
    if (!p || p->lifted)
        return;
    text_->lift(ctx.memory, *gpa);
    lifted_.push_back(*gpa);
}

void TrapEngine::lower_lifted(RunContext& ctx)
{
    for (uint64_t gpa : lifted_)
        text_->lower(ctx.memory, gpa);
    lifted_.clear();
}

HookAction TrapEngine::on_site(RunContext& ctx, const Cr3Site& site)
{
    switch (site.kind) {
    case SiteKind::Cr3Read:
        on_read(ctx, site);
        break;
    case SiteKind::Cr3Write:
        on_write(ctx, site);
        break;
    case SiteKind::Lidt:
        stats_.idt_loads++;
        step_over_breakpoint(ctx);  // at the step's exit watch_idt() sees the new IDTR
        break;
    default:
        on_flush(ctx, site);
    }
    return HookAction::consumed();
}

}  // namespace cr3rig
