#include "campaign/replay.hpp"

#include "campaign/campaign_runner.hpp"
#include "common/errors.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig {

ScheduleResult replay(const std::string& token_text, const ReplayToken& token, const ElfImage& image,
                      const ReplayOptions& replay_options)
{
    if (content_hash(image.bytes()) != token.guest_hash)
        throw BadInput("replay token " + token_text + " was made for another guest image");
    CampaignOptions options;
    options.rig_clock = token.rig_clock;
    options.livelock_faults = token.livelock_faults;
    options.backend = token.backend;
    options.timeout = replay_options.timeout;
    ScheduleResult r = run_schedule(image, token.schedule, options, 0, 0, replay_options.history_path);
    // Reads happen in order and a preemption only follows its read, so the run came
    // to every read of the token exactly when it came to the last one. A run cut short
    // by its deadline says nothing about the reads after it.
    if (r.verdict != VerdictKind::Timeout && r.reads < token.schedule.last_read())
        throw BadInput("replay token " + token_text + " preempts CR3 read " +
                       std::to_string(token.schedule.last_read()) + ", but this run of the guest made " +
                       std::to_string(r.reads) + " (no campaign of it makes that token)");
    return r;
}

std::optional<std::string> run_replay_token(const ElfImage& image, const TrapOptions& options)
{
    const auto& points = options.policy.nth_points();
    TrapOptions defaults;
    bool campaign_like = options.symbols == defaults.symbols && options.livelock_abort == CampaignOptions{}.livelock_abort &&
                         options.rig_clock_exits >= kMinCampaignRigClock &&
                         options.rig_clock_exits <= kMaxCampaignRigClock &&
                         options.livelock_faults >= kMinLivelockFaults && options.livelock_faults <= kMaxLivelockFaults;
    if (points.empty() || points.size() > kMaxPreemptions || !campaign_like)
        return std::nullopt;
    Schedule schedule;
    for (const auto& p : points)
        schedule.injections.push_back({p.read, p.delay});
    return ReplayToken{content_hash(image.bytes()), schedule, options.rig_clock_exits, options.livelock_faults,
                       options.backend}
        .encode();
}

}  // namespace cr3rig
