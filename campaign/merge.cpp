#include "campaign/merge.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "campaign/out_dir.hpp"
#include "common/errors.hpp"

namespace cr3rig {

namespace fs = std::filesystem;

namespace {

struct Shard {
    std::string dir;
    ShardSummary summary;
    std::vector<ScheduleResult> results;

    std::string name() const
    {
        return "shard " + std::to_string(summary.shard_k) + "/" + std::to_string(summary.shard_n) + " (" + dir + ")";
    }
};

std::string read_text(const fs::path& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

Shard read_shard(const std::string& dir, const fs::path& summary_path)
{
    Shard shard{dir, ShardSummary::from_json(read_text(summary_path)), {}};
    fs::path results_path = fs::path(dir) / results_file_name(shard.summary.shard_k, shard.summary.shard_n);
    std::ifstream in(results_path);
    if (!in)
        throw BadInput("merge: " + shard.name() + " has a summary but no " + results_path.filename().string());
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            shard.results.push_back(ScheduleResult::from_json_line(line));
    return shard;
}

// A results file with no summary beside it was not written whole by a campaign.
void read_dir(const std::string& dir, std::vector<Shard>& shards)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw BadInput("merge: " + dir + " is not a directory");
    size_t found = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        std::string name = entry.path().filename().string();
        if (name.rfind("schedules-", 0) != 0 || entry.path().extension() != ".jsonl")
            continue;
        std::string suffix = name.substr(10, name.size() - 10 - 6);  // "K-of-N"
        fs::path summary = fs::path(dir) / ("summary-" + suffix + ".json");
        if (!fs::exists(summary, ec))
            throw BadInput("merge: " + (fs::path(dir) / name).string() + " has no " + summary.filename().string() +
                           " beside it (not a whole campaign --out directory)");
        shards.push_back(read_shard(dir, summary));
        found++;
    }
    if (found == 0)
        throw BadInput("merge: " + dir + " holds no campaign results (schedules-K-of-N.jsonl)");
}

std::string first_difference(const ShardSummary& a, const ShardSummary& b)
{
    if (a.guest_hash != b.guest_hash)
        return "guest " + a.guest + " vs " + b.guest + " (another image)";
    if (a.shard_n != b.shard_n)
        return "split into " + std::to_string(a.shard_n) + " vs " + std::to_string(b.shard_n) + " shards";
    for (const auto& [key, value] : a.settings) {
        auto it = b.settings.find(key);
        std::string other = it == b.settings.end() ? "none" : it->second;
        if (other != value)
            return key + " " + value + " vs " + other;
    }
    return a.settings.size() == b.settings.size() ? "" : "different settings";
}

// Shards sorted by K: every check below then reads the same in any argument order.
void check_one_campaign(const std::vector<Shard>& shards)
{
    const Shard& first = shards.front();
    for (const auto& s : shards) {
        std::string difference = first_difference(first.summary, s.summary);
        if (!difference.empty())
            throw BadInput("merge: " + first.name() + " and " + s.name() + " are not shards of one campaign: " +
                           difference);
    }
    for (size_t i = 1; i < shards.size(); i++)
        if (shards[i].summary.shard_k == shards[i - 1].summary.shard_k)
            throw BadInput("merge: " + shards[i - 1].name() + " and " + shards[i].name() + " are the same shard");
    std::string missing;
    for (unsigned k = 1, i = 0; k <= first.summary.shard_n; k++) {
        if (i < shards.size() && shards[i].summary.shard_k == k)
            i++;
        else
            missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(first.summary.shard_n);
    }
    if (!missing.empty())
        throw BadInput("merge: shard " + missing + " missing (a campaign of " + std::to_string(first.summary.shard_n) +
                       " shards needs all of them)");
}

// Of an incomplete shard. Its summary counts what it had run when it was rewritten
// at the end; one the campaign never rewrote (killed) counts nothing.
std::string how_it_ended(const ShardSummary& s)
{
    if (s.stopped_by.empty())
        return "did not finish (killed?), " + std::to_string(s.schedules) + " schedules planned";
    return "stopped by " + s.stopped_by + " after " + std::to_string(s.roots_run) + " of " +
           std::to_string(s.schedules) + " schedules";
}

}  // namespace

MergedCampaign merge_results(const std::vector<std::string>& dirs)
{
    std::vector<Shard> shards;
    for (const auto& dir : dirs)
        read_dir(dir, shards);
    std::sort(shards.begin(), shards.end(), [](const Shard& a, const Shard& b) {
        return std::tie(a.summary.shard_k, a.dir) < std::tie(b.summary.shard_k, b.dir);
    });
    check_one_campaign(shards);
    MergedCampaign merged;
    merged.guest = shards.front().summary.guest;
    for (auto& s : shards) {
        merged.results.insert(merged.results.end(), s.results.begin(), s.results.end());
        if (!s.summary.complete)
            merged.incomplete.push_back(s.name() + ": " + how_it_ended(s.summary));
    }
    std::sort(merged.results.begin(), merged.results.end(), campaign_order);
    return merged;
}

}  // namespace cr3rig
