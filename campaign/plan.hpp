// A campaign before it runs: what was asked for (CampaignSettings) and what that makes
// of one guest (CampaignPlan): the schedules, this shard's part of them, the deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "campaign/campaign.hpp"
#include "campaign/campaign_runner.hpp"

namespace cr3rig {

class ElfImage;

using CampaignClock = std::chrono::steady_clock;

struct CampaignSettings {
    std::string shard;  // "K/N" (parse_shard); empty = the whole campaign
    unsigned jobs = 1;  // worker processes
    uint64_t max = 0;   // at most this many one-preemption schedules; 0 = all
    double time_s = 0;  // stop starting schedules after this long; 0 = no budget
    std::optional<uint64_t> random_seed;  // shuffle the schedules before --max cuts them
    bool fresh = false;  // a new VM per schedule instead of the snapshot
    CampaignOptions options;
};

struct CampaignPlan {
    unsigned shard_k = 1;
    unsigned shard_n = 1;
    Verdict reference;      // of the run without injection; not PASS: nothing else ran
    size_t reads = 0;       // dynamic CR3 reads of the reference run
    size_t enumerated = 0;  // schedules (read x offset), before shuffling and cutting
    std::vector<Schedule> schedules;  // shuffled and cut; an index is a position here
    std::vector<size_t> indices;      // this shard's part of `schedules`
    CampaignClock::time_point start;
    CampaignClock::time_point deadline;  // time_point::max() without a budget
};

// Parses the shard (BadInput), starts the campaign's clock, measures the windows in a
// reference run (in a fresh VM: it also gives the verdict of a guest that never reads
// CR3, where a snapshot would have nothing to save) and enumerates, shuffles, cuts and
// shards the schedules. A reference run that does not pass leaves no schedules.
CampaignPlan plan_campaign(const ElfImage& image, const CampaignSettings& settings);

}  // namespace cr3rig
