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
using ResultFn = std::function<void(const ScheduleResult&)>;  // each result as it arrives

struct CampaignRun {
    std::vector<ScheduleResult> results;  // in campaign order
    double seconds = 0;                   // from the plan's start to the last result
    size_t roots = 0;                     // one-preemption schedules run
    bool stopped_by_time = false;         // the time budget ended the campaign early
    int stopped_by_signal = 0;            // SIGINT or SIGTERM ended it: the results are those so far
};

// Runs the plan's schedules of this shard in settings.jobs worker processes until
// done or past the plan's deadline. SIGINT or SIGTERM meanwhile stops the workers
// (they never outlive this process) and returns what they had sent. Throws if a
// worker fails otherwise.
CampaignRun run_campaign(const ElfImage& image, const CampaignPlan& plan, const CampaignSettings& settings,
                         const ProgressFn& progress, const ResultFn& on_result = {});

}  // namespace cr3rig
