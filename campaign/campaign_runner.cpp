#include "campaign/campaign_runner.hpp"

#include <stdexcept>

#include "vmm/elf_loader.hpp"
#include "vmm/runner.hpp"
#include "traps/trap_engine.hpp"

namespace cr3rig {

namespace {

TrapOptions trap_options_for(const CampaignOptions& options)
{
    TrapOptions trap_options;
    trap_options.rig_clock_exits = options.rig_clock;
    trap_options.livelock_faults = options.livelock_faults;
    trap_options.livelock_abort = options.livelock_abort;
    return trap_options;
}

// The engine for one schedule: its preemptions, and its windows measured if a
// campaign may add one more to it.
void set_up_for(TrapEngine& engine, const Schedule& schedule, const CampaignOptions& options)
{
    engine.set_policy(InjectionPolicy::parse(schedule.policy()));
    if (schedule.injections.size() < options.max_preemptions)
        engine.set_measure_windows(options.window_bound);
}

ScheduleResult result_of(const RunResult& run, const TrapEngine& engine, const Schedule& schedule, size_t index,
                         size_t sub, const std::string& token)
{
    ScheduleResult r;
    r.index = index;
    r.sub = sub;
    r.schedule = schedule;
    r.token = token;
    r.verdict = run.verdict;
    r.signature = signature(engine.findings());
    for (const auto& f : engine.findings())
        r.findings.push_back(describe(f));
    r.ms = std::chrono::duration<double, std::milli>(run.run_time).count();
    r.windows = engine.read_windows();
    return r;
}

RunOptions quiet_run_options(const CampaignOptions& options)
{
    RunOptions run_options;
    run_options.timeout = options.timeout;
    run_options.apic_bus_cycle_ns = TrapOptions::kRigClockApicBusCycleNs;
    return run_options;
}

}  // namespace

std::vector<unsigned> measure_windows(const ElfImage& image, const CampaignOptions& options)
{
    TrapOptions trap_options = trap_options_for(options);
    trap_options.measure_windows = options.window_bound;
    TrapEngine engine(std::move(trap_options));
    RunOptions run_options = quiet_run_options(options);
    run_options.hook = &engine;
    RunResult result = run_guest(image, run_options);
    if (result.verdict != Verdict::Pass)
        throw std::runtime_error("the reference run (no injection) did not pass: " + result.reason);
    return engine.read_windows();
}

ScheduleResult run_schedule(const ElfImage& image, const Schedule& schedule, const CampaignOptions& options,
                            size_t index, size_t sub, HistoryWriter* history)
{
    TrapOptions trap_options = trap_options_for(options);
    trap_options.history = history;
    trap_options.guest = "campaign schedule " + schedule.policy();
    TrapEngine engine(std::move(trap_options));
    set_up_for(engine, schedule, options);
    RunOptions run_options = quiet_run_options(options);
    run_options.hook = &engine;
    RunResult result = run_guest(image, run_options);
    std::string token =
        ReplayToken{content_hash(image.bytes()), schedule, options.rig_clock, options.livelock_faults}.encode();
    return result_of(result, engine, schedule, index, sub, token);
}

SnapshotCampaign::SnapshotCampaign(const ElfImage& image, const CampaignOptions& options)
    : options_(options), session_(image, quiet_run_options(options)),
      guest_hash_(content_hash(image.bytes()))
{
    TrapOptions trap_options = trap_options_for(options);
    trap_options.pause_at_first_read = true;
    base_ = std::make_unique<TrapEngine>(std::move(trap_options));
    RunResult boot = session_.run(base_.get(), options.timeout);
    has_reads_ = boot.paused;
    if (has_reads_)
        session_.take_snapshot();
}

RunResult SnapshotCampaign::run_from_snapshot(TrapEngine& engine)
{
    auto start = std::chrono::steady_clock::now();
    session_.restore_snapshot();
    last_restore_ = std::chrono::steady_clock::now() - start;
    return session_.run(&engine, options_.timeout);
}

std::vector<unsigned> SnapshotCampaign::measure_windows()
{
    if (!has_reads_)
        return {};
    TrapEngine engine = *base_;
    engine.set_measure_windows(options_.window_bound);
    RunResult result = run_from_snapshot(engine);
    if (result.verdict != Verdict::Pass)
        throw std::runtime_error("the reference run (no injection) did not pass: " + result.reason);
    return engine.read_windows();
}

ScheduleResult SnapshotCampaign::run(const Schedule& schedule, size_t index, size_t sub)
{
    TrapEngine engine = *base_;
    set_up_for(engine, schedule, options_);
    RunResult result = run_from_snapshot(engine);
    std::string token = ReplayToken{guest_hash_, schedule, options_.rig_clock, options_.livelock_faults}.encode();
    return result_of(result, engine, schedule, index, sub, token);
}

}  // namespace cr3rig
