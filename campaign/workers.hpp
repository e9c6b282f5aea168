// The worker processes of a campaign: the plan's schedules dealt round-robin to
// forked workers, each running its share (and the extensions, see explore()) from its
// own snapshot or in fresh VMs, its results coming back as JSON lines over a pipe.
#pragma once

#include <functional>
#include <vector>

#include "campaign/campaign.hpp"
#include "campaign/plan.hpp"

namespace cr3rig {

class ElfImage;

// Where a running campaign stands, after each result and once at the end.
struct CampaignProgress {
    size_t roots = 0;          // one-preemption schedules done
    size_t total_roots = 0;    // of this shard
    size_t runs = 0;           // results so far, extensions included
    size_t with_findings = 0;  // results whose signature is not clean
    bool new_root = false;     // the latest result is a one-preemption schedule
    bool finished = false;     // every worker has closed its pipe (the last call)
};
using ProgressFn = std::function<void(const CampaignProgress&)>;

struct CampaignRun {
    std::vector<ScheduleResult> results;  // in campaign order
    double seconds = 0;                   // from the plan's start to the last result
    size_t roots = 0;                     // one-preemption schedules run
    bool stopped_by_time = false;         // the time budget ended the campaign early
};

// Runs the plan's schedules of this shard in settings.jobs worker processes until
// done or past the plan's deadline. Throws if a worker fails.
CampaignRun run_campaign(const ElfImage& image, const CampaignPlan& plan, const CampaignSettings& settings,
                         const ProgressFn& progress);

}  // namespace cr3rig
