#include "campaign/campaign_runner.hpp"

#include <stdexcept>

#include "traps/trapped_run.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig {

namespace {

TrapOptions trap_options_for(const CampaignOptions& options)
{
    TrapOptions trap_options;
    trap_options.rig_clock_exits = options.rig_clock;
    trap_options.backend = options.backend;
    trap_options.livelock_faults = options.livelock_faults;
    trap_options.livelock_abort = options.livelock_abort;
    return trap_options;
}

// A schedule's windows are measured if a campaign may add one more preemption to it.
unsigned windows_to_measure(const Schedule& schedule, const CampaignOptions& options)
{
    return schedule.injections.size() < options.max_preemptions ? options.window_bound : 0;
}

ScheduleResult result_of(const TrappedResult& trapped, const Schedule& schedule, size_t index, size_t sub,
                         const std::string& token)
{
    const Verdict& verdict = trapped.run.verdict;
    ScheduleResult r;
    r.index = index;
    r.sub = sub;
    r.schedule = schedule;
    r.token = token;
    r.verdict = verdict.kind;
    r.signature = signature(verdict.findings);
    for (const auto& f : verdict.findings)
        r.findings.push_back(describe(f));
    r.ms = std::chrono::duration<double, std::milli>(trapped.run.run_time).count();
    r.windows = trapped.read_windows;
    r.reads = trapped.stats.reads;
    return r;
}

RunOptions quiet_run_options(const CampaignOptions& options)
{
    RunOptions run_options;
    run_options.timeout = options.timeout;
    return run_options;
}

std::vector<unsigned> windows_of_reference(const TrappedResult& reference)
{
    if (!reference.run.verdict.passed())
        throw std::runtime_error("the reference run (no injection) did not pass: " + reference.run.verdict.reason);
    return reference.read_windows;
}

}  // namespace

ReferenceRun reference_run(const ElfImage& image, const CampaignOptions& options)
{
    TrapOptions trap_options = trap_options_for(options);
    trap_options.measure_windows = options.window_bound;
    TrappedResult reference = TrappedRun(image, std::move(trap_options)).run(quiet_run_options(options));
    ReferenceRun out{reference.run.verdict, {}};
    if (out.verdict.passed())
        out.windows = reference.read_windows;
    return out;
}

ScheduleResult run_schedule(const ElfImage& image, const Schedule& schedule, const CampaignOptions& options,
                            size_t index, size_t sub, const std::string& history_path)
{
    TrapOptions trap_options = trap_options_for(options);
    trap_options.policy = InjectionPolicy::parse(schedule.policy());
    trap_options.measure_windows = windows_to_measure(schedule, options);
    TrappedRun trapped(image, std::move(trap_options));
    trapped.keep_history({history_path, "campaign schedule " + schedule.policy()});
    TrappedResult result = trapped.run(quiet_run_options(options));
    std::string token =
        ReplayToken{content_hash(image.bytes()), schedule, options.rig_clock, options.livelock_faults, options.backend}.encode();
    return result_of(result, schedule, index, sub, token);
}

SnapshotCampaign::SnapshotCampaign(const ElfImage& image, const CampaignOptions& options)
    : options_(options), session_(image, trap_options_for(options), quiet_run_options(options)),
      guest_hash_(content_hash(image.bytes()))
{
}

std::vector<unsigned> SnapshotCampaign::measure_windows()
{
    if (!session_.has_reads())
        return {};
    return windows_of_reference(session_.run(InjectionPolicy::parse("none"), options_.window_bound));
}

ScheduleResult SnapshotCampaign::run(const Schedule& schedule, size_t index, size_t sub)
{
    TrappedResult result =
        session_.run(InjectionPolicy::parse(schedule.policy()), windows_to_measure(schedule, options_));
    std::string token = ReplayToken{guest_hash_, schedule, options_.rig_clock, options_.livelock_faults, options_.backend}.encode();
    return result_of(result, schedule, index, sub, token);
}

}  // namespace cr3rig
