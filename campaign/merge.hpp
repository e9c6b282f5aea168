// `cr3rig merge`: the shards of one campaign, from their --out directories, back into
// one campaign. Only shards of the same guest and settings combine, all N of them, each
// once; the result does not depend on the order the directories are given in.
#pragma once

#include <string>
#include <vector>

#include "campaign/campaign.hpp"

namespace cr3rig {

struct MergedCampaign {
    std::string guest;                    // as the first shard names it
    std::vector<ScheduleResult> results;  // in campaign order
    std::vector<std::string> incomplete;  // "shard 2/3 (DIR): stopped by SIGINT after 1 of 5 schedules"
};

// Reads every shard (summary-K-of-N.json and schedules-K-of-N.jsonl) in `dirs`.
// Throws BadInput for a directory that is not one or holds no shard, a results file
// without its summary, a line that is not a result, shards of different guests,
// settings or N, a shard given twice, and missing shards (named).
MergedCampaign merge_results(const std::vector<std::string>& dirs);

}  // namespace cr3rig
