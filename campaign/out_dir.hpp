// A campaign shard's --out directory: DIR/schedules-K-of-N.jsonl (a ScheduleResult
// JSON line each, appended as results arrive, in campaign order once the shard ends)
// and DIR/summary-K-of-N.json (which campaign this is a shard of, and how far it got;
// written before the first schedule as "incomplete", rewritten at the end). Both
// files are replaced whole (written beside and renamed), so a stopped or killed
// campaign leaves valid files. `cr3rig merge` reads them back (campaign/merge.hpp).
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "campaign/campaign.hpp"

namespace cr3rig {

struct CampaignPlan;
struct CampaignSettings;

struct ShardSummary {
    std::string guest;  // as given on the command line
    uint64_t guest_hash = 0;
    unsigned shard_k = 1;
    unsigned shard_n = 1;
    // What decides the schedules and their verdicts ("rig_clock": "32", ...): shards
    // merge only when theirs are equal.
    std::map<std::string, std::string> settings;
    size_t schedules = 0;  // one-preemption schedules in this shard
    size_t roots_run = 0;
    size_t runs = 0;  // results, extensions included
    bool complete = false;
    std::string stopped_by;  // when incomplete: "--time", "SIGINT", "SIGTERM"; empty: it did not finish

    std::string to_json() const;
    static ShardSummary from_json(const std::string& text);  // throws BadInput
};

// The summary of a planned shard, before any schedule ran.
ShardSummary planned_summary(const std::string& guest, uint64_t guest_hash, const CampaignPlan& plan,
                             const CampaignSettings& settings);

std::string results_file_name(unsigned shard_k, unsigned shard_n);
std::string summary_file_name(unsigned shard_k, unsigned shard_n);

// Before anything runs: `dir` must be a directory that exists or can be made, and
// must take files. Throws BadInput naming what is wrong.
void check_out_dir(const std::string& dir);

class ShardOutput {
public:
    // Writes the summary as planned (incomplete) and starts an empty results file.
    ShardOutput(std::string dir, ShardSummary summary);

    void add(const ScheduleResult& result);  // one line, flushed
    // The results in campaign order and the final summary, each replacing its file.
    void finish(const std::vector<ScheduleResult>& results, const ShardSummary& summary);

private:
    std::string dir_;
    std::ofstream results_;
};

}  // namespace cr3rig
