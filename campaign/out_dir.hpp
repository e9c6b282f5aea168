// A campaign's results as files: one shard's in its --out directory
// (DIR/schedules-K-of-N.jsonl, a ScheduleResult JSON line each), and those of several
// directories read back into one campaign (`cr3rig merge`).
#pragma once

#include <string>
#include <vector>

#include "campaign/campaign.hpp"

namespace cr3rig {

// Creates `dir` if needed and writes the results of shard K of N to it. Throws BadInput
// when the file cannot be written.
void write_results(const std::string& dir, unsigned shard_k, unsigned shard_n,
                   const std::vector<ScheduleResult>& results);

// Every schedules-*.jsonl in `dirs` (the finding groups' histories beside them are not
// results), in campaign order, each (index, sub) once. Throws BadInput for a directory
// that is not one, a line that is not a result, or no results at all.
std::vector<ScheduleResult> merge_results(const std::vector<std::string>& dirs);

}  // namespace cr3rig
