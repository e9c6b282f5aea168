// The trap engine: traps every CR3 read and write and the guest's page-fault entry
// (with debug registers, patched traps in the guest's text, or single steps: its
// TrapPlan), forces timer-interrupt preemptions after reads as the
// injection policy says, feeds the detectors and the CR3 history. It plugs into
// the run loop as a RunHook and needs nothing from the guest but its code (and,
// for the semantic checks, the kernel's exported symbols).
// Only traps/ constructs it: everyone else runs a TrappedRun (traps/trapped_run.hpp).
// Its code: trap_engine.cpp (the hook: start, each exit, finish), trap_arming.cpp
// (sites, the plan and the debug registers), patched_traps.cpp (patches, their exits,
// and the guest's writes to its text), trap_events.cpp (each trapped instruction),
// rig_clock.cpp (deterministic guest time).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "traps/cr3_site.hpp"
#include "traps/detectors.hpp"
#include "traps/injection_policy.hpp"
#include "traps/patched_text.hpp"
#include "traps/trap_backend.hpp"
#include "traps/trap_plan.hpp"
#include "vmm/run_hook.hpp"

namespace cr3rig {

class ElfImage;
class HistoryWriter;

// Where the semantic checks find current->active_mm->pgd: the symbol holding the
// current task pointer, and absolute symbols holding structure offsets
// (offset_prefix + task_pid, task_name, task_mm, task_active_mm, mm_pgd), as
// Linux's VMCOREINFO exports them. Defaults are the lazytlb kernel's names.
struct SemanticSymbols {
    std::string current = "current";
    std::string offset_prefix = "vmcoreinfo_";
    bool operator==(const SemanticSymbols&) const = default;
};

// Guest time for trapped runs: a rig tick every 32 exits unless told otherwise.
constexpr uint64_t kDefaultRigClockExits = 32;
constexpr uint64_t kHostTime = 0;

struct TrapOptions {
    InjectionPolicy policy = InjectionPolicy::parse("none");
    TrapBackend backend = TrapBackend::Auto;
    uint64_t livelock_faults = 16;
    SemanticSymbols symbols;
    std::function<void(const TrapEvent&)> on_event;  // every trapped event, in order
    // Deterministic guest time (the default): the rig stops the guest's timer and
    // delivers its tick itself, once every N exits, and whenever the vCPU is found
    // halted. Exits happen at the same guest instructions in every run, so the same
    // schedule gives the same run, idle or loaded. kHostTime: the guest's LAPIC timer
    // runs on host time, and where its ticks land depends on the host.
    uint64_t rig_clock_exits = kDefaultRigClockExits;
    // Step after every read that is not injected until the next CR3 write (at most
    // this many instructions) and record how far it was: the injection offsets a
    // campaign explores. 0 = off.
    unsigned measure_windows = 0;
    // A fault streak this long ends the run (verdict FAIL): the guest is stuck for good,
    // as when no other mm is left to run during RT throttling. 0 = never.
    uint64_t livelock_abort = 2000;
    // Pause the run (HookAction::pause) at the first CR3 read, before anything is
    // done with it: the point a campaign snapshots. Resuming re-executes the read.
    bool pause_at_first_read = false;
};

struct TrapStats {
    uint64_t reads = 0, writes = 0, injections = 0, page_faults = 0, flushes = 0;
    uint64_t debug_exits = 0, single_steps = 0, unexpected_debug_exits = 0;
    uint64_t rig_ticks = 0;
    uint64_t rescans = 0;  // the guest's write to its text changed the sites
    uint64_t text_writes = 0;  // guest writes to its (read-only) text, performed by the rig
    uint64_t patched_exits = 0;  // trapped accesses that exited through a patch
    uint64_t idt_loads = 0;  // trapped lidt instructions
    // Host time from each injected read's trap exit to its MSI sent: the read performed,
    // the K steps after it, the event recorded, the injection: what one forced preemption
    // costs the rig.
    uint64_t injection_host_ns = 0;
};

// Copyable: a campaign keeps the engine as it was at its snapshot and gives each
// schedule a copy with its own policy.
class TrapEngine : public RunHook {
public:
    // The image must outlive the engine; `history` (optional) gets every event and
    // finding as it is made, under a header naming `guest`.
    TrapEngine(const ElfImage& image, TrapOptions options, HistoryWriter* history = nullptr, std::string guest = {});

    void set_policy(InjectionPolicy policy) { options_.policy = std::move(policy); }
    void set_measure_windows(unsigned bound) { options_.measure_windows = bound; }

    void start(RunContext& ctx) override;
    HookAction on_exit(RunContext& ctx, const VmExit& exit) override;
    std::vector<Finding> finish(RunContext& ctx, const Stop& end) override;

    const TrapStats& stats() const { return stats_; }
    const std::vector<Cr3Site>& sites() const { return sites_; }
    // "hardware breakpoints: 1 read, 1 write, #PF entry (3 of 4 slots)", patched traps, or
    // single steps: describe(TrapPlan), for the history header and stderr alike.
    std::string backend() const;
    const std::vector<std::string>& notes() const { return notes_; }
    // With measure_windows: per dynamic read, the instructions from it to the next CR3
    // write (1 = the very next one), or 0 if none came within the bound or the read
    // was injected.
    const std::vector<unsigned>& read_windows() const { return windows_; }
    std::chrono::microseconds poke_interval() const override;

private:
    struct Offsets {
        uint64_t current, task_pid, task_name, task_mm, task_active_mm, mm_pgd;
    };
    // A read being single-stepped: recorded after its first step (when the register
    // holds the value read), injected after `steps_left` steps if `inject`.
    struct PendingRead {
        TrapEvent event;
        Cr3Site site;
        unsigned steps_left;
        bool inject;
        bool recorded;
        unsigned steps = 0;  // taken after the read itself
        std::chrono::steady_clock::time_point trapped_at = std::chrono::steady_clock::now();
    };

    void note(const std::string& text);  // once per distinct text
    std::optional<Finding> check_guest_accounting(RunContext& ctx, const std::vector<Finding>& findings);
    void use_sites(std::vector<Cr3Site> sites);
    void rescan(RunContext& ctx, uint64_t changed_at);
    void plan();            // plan_ from the sites, the backend and the #PF entry
    void note_untrapped();  // notes what no debug register was left for
    void arm(RunContext& ctx, bool single_step);
    // Patched traps (patched_traps.cpp).
    void protect_text(RunContext& ctx);
    void apply_patches(RunContext& ctx);
    std::optional<Cr3Site> patched_hit(RunContext& ctx, const VmExit& exit);
    std::optional<uint64_t> code_gpa(RunContext& ctx, uint64_t rip);
    bool on_text_write(RunContext& ctx, const VmExit& exit);
    void lift_patch_at_rip(RunContext& ctx);
    void lower_lifted(RunContext& ctx);
    HookAction on_site(RunContext& ctx, const Cr3Site& site);
    void watch_idt(RunContext& ctx);
    void step_over_breakpoint(RunContext& ctx);
    void emulate(RunContext& ctx, const Cr3Site& site, uint64_t value);
    bool faults_like_the_cpu(RunContext& ctx, const Cr3Site& site);
    TrapEvent make_event(RunContext& ctx, EventKind kind, uint64_t rip);
    void add_task_info(RunContext& ctx, TrapEvent& event);
    void record(const TrapEvent& event);
    void on_read(RunContext& ctx, const Cr3Site& site);
    void on_write(RunContext& ctx, const Cr3Site& site);
    void on_page_fault(RunContext& ctx);
    void on_flush(RunContext& ctx, const Cr3Site& site);
    bool on_single_step(RunContext& ctx);
    bool advance_window(RunContext& ctx);
    void inject(RunContext& ctx);
    void rig_clock(RunContext& ctx, const VmExit& exit);
    uint32_t timer_vector(RunContext& ctx);

    const ElfImage* image_;
    TrapOptions options_;
    HistoryWriter* history_;
    std::string guest_;
    std::vector<Cr3Site> sites_;
    std::map<uint64_t, Cr3Site> trapped_;  // address -> CR3 read/write site
    // TLB-flush sites (invlpg, invpcid, mov to CR4): recorded in the history, not
    // injection points. They get the debug registers left after the CR3 sites and the
    // #PF entry; all of them are seen in full-step mode.
    std::map<uint64_t, Cr3Site> flush_sites_;
    std::vector<uint64_t> flush_armed_;
    std::map<uint64_t, Cr3Site> idt_loads_;  // lidt sites, armed with what debug registers are left
    std::optional<uint64_t> pf_entry_;
    TrapPlan plan_;  // how each site is trapped (plan())
    // The guest's text, read-only to it, with the patched traps (empty until start()).
    std::optional<PatchedText> text_;
    std::vector<uint64_t> lifted_;  // patches lifted for the single step under way
    uint64_t idt_base_ = 0, idt_limit_ = 0;
    std::optional<Offsets> offsets_;
    std::optional<PendingRead> pending_;
    bool stepping_over_ = false;
    // Stepping every instruction (plan_.single_step): slow, honest, no limit on sites.
    bool full_step_ = false;
    uint32_t guest_debug_flags_ = 0;  // what KVM_CAP_SET_GUEST_DEBUG2 offers
    Detectors detectors_;
    std::vector<std::string> notes_;
    TrapStats stats_;
    uint64_t seq_ = 0;
    std::vector<unsigned> windows_;
    bool stopped_for_livelock_ = false;
    bool started_ = false;
    bool paused_ = false;
    uint64_t clock_exits_ = 0;          // deterministic exits seen, for the rig clock
    std::optional<uint32_t> rig_timer_vector_;  // set once the guest's own timer is stopped
    std::chrono::steady_clock::time_point start_;
};

}  // namespace cr3rig
