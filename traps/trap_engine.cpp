#include "traps/trap_engine.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "cr3rig/abi.h"
#include "traps/guest_accounting.hpp"
#include "traps/history_writer.hpp"
#include "traps/trap_detail.hpp"
#include "vmm/completion/complete_on_vcpu.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/kvm.hpp"

namespace cr3rig {

using namespace trap_detail;

TrapEngine::TrapEngine(const ElfImage& image, TrapOptions options, HistoryWriter* history, std::string guest)
    : image_(&image), options_(std::move(options)), history_(history), guest_(std::move(guest)),
      detectors_(options_.livelock_faults)
{
}

void TrapEngine::start(RunContext& ctx)
{
    if (started_) {  // going on from a pause or a snapshot: the vCPU needs our set-up again
        ctx.vcpu.set_sync_regs(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
        arm(ctx, pending_.has_value() || stepping_over_);
        return;
    }
    const ElfImage& img = *image_;
    started_ = true;
    start_ = std::chrono::steady_clock::now();
    protect_text(ctx);
    use_sites(text_->scan(img));
    apply_patches(ctx);
    if (full_step_)
        note("single-stepping every instruction: ~6 us each, and hlt does not halt while stepping");
    else if (!plan_.patch_cr3() && trapped_.size() == kHwSlots)
        note("all 4 debug registers hold CR3 sites: the #PF entry is not trapped, no livelock detection");

    // Symbols for the semantic checks, if the kernel exports them.
    auto sym = [&](const std::string& name) { return img.find_symbol(name); };
    const std::string& p = options_.symbols.offset_prefix;
    const Symbol *cur = sym(options_.symbols.current), *pid = sym(p + "task_pid"), *name = sym(p + "task_name"),
                 *mm = sym(p + "task_mm"), *amm = sym(p + "task_active_mm"), *pgd = sym(p + "mm_pgd");
    if (cur && pid && name && mm && amm && pgd)
        offsets_ = Offsets{cur->value, pid->value, name->value, mm->value, amm->value, pgd->value};
    else
        note("no '" + options_.symbols.current + "' / '" + p +
                         "*' symbols: semantic checks off, tasks unnamed");

    guest_debug_flags_ = static_cast<uint32_t>(ctx.vm.check_extension(KVM_CAP_SET_GUEST_DEBUG2));
    ctx.vcpu.set_sync_regs(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
    arm(ctx, false);
    if (history_)
        history_->header(guest_, options_.policy.text(), backend());
}

// Compared only when the kernel keeps the count and the rig can make the same test
// (the semantic symbols); a kernel without either is not asked.
std::optional<Finding> TrapEngine::check_guest_accounting(RunContext& ctx, const std::vector<Finding>& findings)
{
    const Symbol* accounting = image_->find_symbol(CR3RIG_ACCOUNTING_SYMBOL);
    if (!accounting || !offsets_)
        return std::nullopt;
    auto counted = read_guest_stale_writes(ctx.memory, ctx.vcpu.synced_sregs().cr3, accounting->value);
    if (!counted) {
        note(std::string("the guest's ") + CR3RIG_ACCOUNTING_SYMBOL + " is unreadable or lacks its magic: not compared");
        return std::nullopt;
    }
    return compare_guest_accounting(*counted, findings);
}

void TrapEngine::note(const std::string& text)
{
    if (std::find(notes_.begin(), notes_.end(), text) == notes_.end())
        notes_.push_back(text);
}

void TrapEngine::record(const TrapEvent& event)
{
    if (history_)
        history_->event(event);
    if (options_.on_event)
        options_.on_event(event);
    for (const auto& f : detectors_.on_event(event)) {
        if (history_)
            history_->finding(f);
    }
}

std::chrono::microseconds TrapEngine::poke_interval() const
{
    return options_.rig_clock_exits ? kHaltPoke : std::chrono::microseconds::zero();
}

HookAction TrapEngine::on_exit(RunContext& ctx, const VmExit& exit)
{
    // The single step that needed the guest's own bytes is over, unless the backend could
    // not emulate that very instruction: instruction completion reads it from memory next.
    if (exit.kind != ExitKind::Interrupted && !is_emulation_failure(exit))
        lower_lifted(ctx);
    std::optional<Cr3Site> patched = patched_hit(ctx, exit);
    if (options_.pause_at_first_read && !paused_) {
        const Cr3Site* read = patched ? &*patched : nullptr;
        if (!read && exit.kind == ExitKind::Debug) {
            auto it = trapped_.find(ctx.vcpu.synced_regs().rip);
            read = it != trapped_.end() ? &it->second : nullptr;
        }
        if (read && read->kind == SiteKind::Cr3Read) {
            // Nothing of this exit is counted or done: after the pause the trap fires again
            // (a patched one: RIP is back at it) and the run goes on exactly as if it had
            // not stopped.
            paused_ = true;
            return HookAction::pause();
        }
    }
    if (options_.rig_clock_exits)
        rig_clock(ctx, exit);
    if (history_)
        history_->flush_if_due();
    watch_idt(ctx);
    if (on_text_write(ctx, exit))
        return HookAction::consumed();
    if (stepping_over_ && is_emulation_failure(exit)) {
        // The step's instruction is one the backend cannot emulate: instruction completion
        // performs it next, which is the step done (no step exit follows a completion).
        stepping_over_ = false;
        arm(ctx, false);
        return HookAction::proceed();
    }
    if (patched)
        return on_site(ctx, *patched);
    if (exit.kind != ExitKind::Debug)
        return HookAction::proceed();
    stats_.debug_exits++;
    const kvm_debug_exit_arch& dbg = ctx.vcpu.run_state().debug.arch;
    if (dbg.dr6 & kDr6SingleStep) {
        stats_.single_steps++;
        if (pending_ && !on_single_step(ctx)) {
            lift_patch_at_rip(ctx);  // a patched site in the window runs as the guest's own
            return HookAction::consumed();  // still stepping the read's window
        }
        if (stepping_over_) {
            stepping_over_ = false;
            arm(ctx, false);
            return HookAction::consumed();
        }
        if (!full_step_)
            return HookAction::consumed();
        // Full-step mode: every instruction is a candidate site, look at this one.
    }
    uint64_t rip = ctx.vcpu.synced_regs().rip;
    if (auto it = trapped_.find(rip); it != trapped_.end()) {
        return on_site(ctx, it->second);
    } else if (pf_entry_ && rip == *pf_entry_) {
        on_page_fault(ctx);
        if (options_.livelock_abort && detectors_.fault_streak() >= options_.livelock_abort) {
            stopped_for_livelock_ = true;
            return HookAction::end({VerdictKind::Fail,
                                    "page-fault livelock: " + std::to_string(detectors_.fault_streak()) +
                                        " faults at one address, the guest is stuck; run stopped",
                                    std::nullopt});
        }
    } else if (auto f = flush_sites_.find(rip); f != flush_sites_.end()) {
        return on_site(ctx, f->second);
    } else if (auto l = idt_loads_.find(rip); l != idt_loads_.end()) {
        return on_site(ctx, l->second);
    } else if (dbg.exception == kBreakpointVector && (guest_debug_flags_ & KVM_GUESTDBG_USE_SW_BP) &&
               plan_.patch_kind == TrapBackend::Int3) {
        // The guest's own int3, which KVM_GUESTDBG_USE_SW_BP brought here: the guest's it is.
        stats_.unexpected_debug_exits++;
        ctx.vcpu.inject_exception(kBreakpointVector, std::nullopt);
    } else if (!full_step_) {
        stats_.unexpected_debug_exits++;  // e.g. a #DB of the guest's own: let it go on
        step_over_breakpoint(ctx);
    }
    return HookAction::consumed();
}

std::vector<Finding> TrapEngine::finish(RunContext& ctx, const Stop& end)
{
    std::vector<Finding> findings = detectors_.finish(stopped_for_livelock_);
    // The guest's own count is complete only when the guest ended the run itself (or
    // the rig did, on a livelock): a deadline or a crash can cut a count short.
    bool guest_ended = end.kind == VerdictKind::Pass || end.kind == VerdictKind::Fail;
    if (auto disagreement = guest_ended ? check_guest_accounting(ctx, findings) : std::nullopt) {
        findings.insert(findings.begin(), *disagreement);  // first: the verdict names it
        if (history_)
            history_->finding(*disagreement);
    }
    for (const auto& f : findings) {
        if (f.kind != FindingKind::FaultLivelock)
            continue;  // the others were recorded as they were made
        if (history_)
            history_->finding(f);
    }
    try {
        kvm_debugregs dbg = ctx.vcpu.get_debugregs();
        if (dbg.dr7 & 0xff)
            note("the guest programmed its own breakpoints (DR7 " + hex(dbg.dr7) +
                 "): the rig's hardware breakpoints take precedence while it traps");
    } catch (const std::exception&) {
    }
    return findings;
}

}  // namespace cr3rig
