#include "traps/trap_engine.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"
#include "common/hex.hpp"
#include "traps/history_writer.hpp"
#include "vmm/kvm.hpp"
#include "vmm/page_walk.hpp"
#include "vmm/runner.hpp"

namespace cr3rig {

namespace {

constexpr unsigned kHwSlots = 4;
constexpr uint64_t kDr6SingleStep = 1ull << 14;
constexpr uint64_t kCr4Pcide = 1ull << 17;
constexpr uint64_t kCr3NoFlush = 1ull << 63;
constexpr unsigned kLapicLvtTimer = 0x320;
constexpr unsigned kLapicTimerInitialCount = 0x380;
constexpr unsigned kLapicIrr = 0x200;
constexpr uint32_t kLvtMasked = 1u << 16;
constexpr auto kHaltPoke = std::chrono::microseconds(1000);
constexpr unsigned kPageFaultVector = 14;

// kvm_regs holds rax..r15 first, in the order Cr3Site::reg_index counts them.
static_assert(offsetof(kvm_regs, r15) == 15 * sizeof(uint64_t));

uint64_t reg_value(const kvm_regs& regs, int index)
{
    uint64_t value = 0;
    if (index >= 0 && index < 16)
        std::memcpy(&value, reinterpret_cast<const char*>(&regs) + index * sizeof(uint64_t), sizeof value);
    return value;
}

void set_reg_value(kvm_regs& regs, int index, uint64_t value)
{
    if (index >= 0 && index < 16)
        std::memcpy(reinterpret_cast<char*>(&regs) + index * sizeof(uint64_t), &value, sizeof value);
}

}  // namespace

TrapEngine::TrapEngine(TrapOptions options)
    : options_(std::move(options)), detectors_(options_.livelock_faults)
{
}

std::string TrapEngine::backend() const
{
    unsigned reads = 0, writes = 0;
    for (const auto& [addr, site] : trapped_)
        (site.kind == SiteKind::Cr3Read ? reads : writes)++;
    if (full_step_)
        return "single-step through all guest code: " + std::to_string(reads) + " reads + " + std::to_string(writes) +
               " writes > " + std::to_string(kHwSlots) + " debug registers, and software breakpoints fail on " +
               "nested hosts (int3 at CPL0)";
    unsigned used = reads + writes + (pf_entry_ ? 1 : 0) + static_cast<unsigned>(flush_armed_.size());
    unsigned lidt = std::min(static_cast<unsigned>(idt_loads_.size()), kHwSlots - std::min(used, kHwSlots));
    used += lidt;
    return "hardware breakpoints: " + std::to_string(reads) + " read, " + std::to_string(writes) + " write" +
           (pf_entry_ ? ", #PF entry" : "") +
           (flush_armed_.empty() ? "" : ", " + std::to_string(flush_armed_.size()) + " flush") +
           (lidt ? ", " + std::to_string(lidt) + " lidt" : "") + " (" + std::to_string(used) + " of " +
           std::to_string(kHwSlots) + " slots)";
}

void TrapEngine::start(RunContext& ctx)
{
    if (started_) {  // going on from a pause or a snapshot: the vCPU needs our set-up again
        ctx.vcpu.set_sync_regs(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
        arm(ctx, pending_.has_value() || stepping_over_);
        return;
    }
    // Multiboot images are not trapped (yet): the scan and the symbols need ELF64.
    const ElfImage& img = require_elf64(ctx.image, kTrapEngineUse);
    started_ = true;
    start_ = std::chrono::steady_clock::now();
    use_sites(scan_cr3_sites(img));
    if (full_step_)
        note("single-stepping every instruction: ~6 us each, and hlt does not halt while stepping");
    else if (trapped_.size() == kHwSlots)
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
    if (options_.history)
        options_.history->header(options_.guest, options_.policy.text(), backend());
}

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
    for (const auto& segment : require_elf64(ctx.image, kTrapEngineUse).segments()) {
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

void TrapEngine::note(const std::string& text)
{
    if (std::find(notes_.begin(), notes_.end(), text) == notes_.end())
        notes_.push_back(text);
}

void TrapEngine::arm(RunContext& ctx, bool single_step)
{
    kvm_guest_debug dbg{};
    dbg.control = KVM_GUESTDBG_ENABLE;
    if (single_step || full_step_) {
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

void TrapEngine::record(const TrapEvent& event)
{
    if (options_.history)
        options_.history->event(event);
    if (options_.on_event)
        options_.on_event(event);
    for (const auto& f : detectors_.on_event(event)) {
        if (options_.history)
            options_.history->finding(f);
        if (options_.on_finding)
            options_.on_finding(f);
    }
}

std::chrono::microseconds TrapEngine::poke_interval() const
{
    return options_.rig_clock_exits ? kHaltPoke : std::chrono::microseconds::zero();
}

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

ExitAction TrapEngine::on_exit(RunContext& ctx, const VmExit& exit, bool& consumed)
{
    if (options_.pause_at_first_read && !paused_ && exit.kind == ExitKind::Debug) {
        auto it = trapped_.find(ctx.vcpu.synced_regs().rip);
        if (it != trapped_.end() && it->second.kind == SiteKind::Cr3Read) {
            // Nothing of this exit is counted or done: after the pause the breakpoint
            // fires again and the run goes on exactly as if it had not stopped.
            paused_ = true;
            consumed = true;
            return Stop{Verdict::Pass, "paused at the first CR3 read", std::nullopt, true};
        }
    }
    if (options_.rig_clock_exits)
        rig_clock(ctx, exit);
    if (options_.history)
        options_.history->flush_if_due();
    watch_idt(ctx);
    if (exit.kind != ExitKind::Debug)
        return std::nullopt;
    consumed = true;
    stats_.debug_exits++;
    const kvm_debug_exit_arch& dbg = ctx.vcpu.run_state().debug.arch;
    if (dbg.dr6 & kDr6SingleStep) {
        stats_.single_steps++;
        if (pending_ && !on_single_step(ctx))
            return std::nullopt;  // still stepping the read's window
        if (stepping_over_) {
            stepping_over_ = false;
            arm(ctx, false);
            return std::nullopt;
        }
        if (!full_step_)
            return std::nullopt;
        // Full-step mode: every instruction is a candidate site, look at this one.
    }
    uint64_t rip = ctx.vcpu.synced_regs().rip;
    if (auto it = trapped_.find(rip); it != trapped_.end() && !site_intact(ctx, it->second)) {
        rescan(ctx, rip);
        if (!trapped_.count(rip))
            return std::nullopt;  // no longer a site: the breakpoint is gone, the guest goes on
    }
    if (auto it = trapped_.find(rip); it != trapped_.end()) {
        if (it->second.kind == SiteKind::Cr3Read)
            on_read(ctx, it->second);
        else
            on_write(ctx, it->second);
    } else if (pf_entry_ && rip == *pf_entry_) {
        on_page_fault(ctx);
        if (options_.livelock_abort && detectors_.fault_streak() >= options_.livelock_abort) {
            stopped_for_livelock_ = true;
            return Stop{Verdict::Fail,
                        "page-fault livelock: " + std::to_string(detectors_.fault_streak()) +
                            " faults at one address, the guest is stuck; run stopped",
                        std::nullopt};
        }
    } else if (auto f = flush_sites_.find(rip); f != flush_sites_.end()) {
        on_flush(ctx, f->second);
    } else if (idt_loads_.count(rip)) {
        stats_.idt_loads++;
        step_over_breakpoint(ctx);  // at the step's exit watch_idt() sees the new IDTR
    } else if (!full_step_) {
        stats_.unexpected_debug_exits++;  // e.g. a #DB of the guest's own: let it go on
        step_over_breakpoint(ctx);
    }
    return std::nullopt;
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

void TrapEngine::finish(RunContext& ctx, RunResult& result)
{
    findings_ = detectors_.finish(stopped_for_livelock_);
    for (const auto& f : findings_) {
        if (f.kind != FindingKind::FaultLivelock)
            continue;  // the others were reported as they were made
        if (options_.history)
            options_.history->finding(f);
        if (options_.on_finding)
            options_.on_finding(f);
    }
    try {
        kvm_debugregs dbg = ctx.vcpu.get_debugregs();
        if (dbg.dr7 & 0xff)
            note("the guest programmed its own breakpoints (DR7 " + hex(dbg.dr7) +
                             "): the rig's hardware breakpoints take precedence while it traps");
    } catch (const std::exception&) {
    }
    if (!findings_.empty() && result.verdict != Verdict::Fail) {
        result.reason = describe(findings_.front()) + " (guest: " + std::string(name_of(result.verdict)) + ", " +
                        result.reason + ")";
        result.verdict = Verdict::Fail;
    } else if (!findings_.empty()) {
        result.reason = describe(findings_.front()) + " (guest: " + result.reason + ")";
    }
    if (options_.history)
        options_.history->verdict(std::string(name_of(result.verdict)), result.reason);
}

}  // namespace cr3rig
