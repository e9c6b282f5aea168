#include "campaign_runner.hpp"

#include <stdexcept>

#include "elf_loader.hpp"
#include "runner.hpp"
#include "trap_engine.hpp"

namespace cr3rig {

std::vector<unsigned> measure_windows(const ElfImage& image, const CampaignOptions& options)
{
    TrapOptions trap_options;
    trap_options.rig_clock_exits = options.rig_clock;
    trap_options.livelock_faults = options.livelock_faults;
    trap_options.measure_windows = options.window_bound;
    TrapEngine engine(std::move(trap_options));
    RunOptions run_options;
    run_options.timeout = options.timeout;
    run_options.hook = &engine;
    RunResult result = run_guest(image, run_options);
    if (result.verdict != Verdict::Pass)
        throw std::runtime_error("the reference run (no injection) did not pass: " + result.reason);
    return engine.read_windows();
}

ScheduleResult run_schedule(const ElfImage& image, const Schedule& schedule, const CampaignOptions& options,
                            size_t index)
{
    TrapOptions trap_options;
    trap_options.policy = InjectionPolicy::parse(schedule.policy());
    trap_options.rig_clock_exits = options.rig_clock;
    trap_options.livelock_faults = options.livelock_faults;
    trap_options.livelock_abort = options.livelock_abort;
    TrapEngine engine(std::move(trap_options));
    RunOptions run_options;
    run_options.timeout = options.timeout;
    run_options.hook = &engine;
    RunResult result = run_guest(image, run_options);

    ScheduleResult r;
    r.index = index;
    r.schedule = schedule;
    r.token = ReplayToken{content_hash(image.bytes()), schedule, options.rig_clock, options.livelock_faults}.encode();
    r.verdict = std::string(name_of(result.verdict));
    r.signature = signature(engine.findings());
    for (const auto& f : engine.findings())
        r.findings.push_back(describe(f));
    r.ms = std::chrono::duration<double, std::milli>(result.run_time).count();
    return r;
}

}  // namespace cr3rig
