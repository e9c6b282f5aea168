#include "campaign/out_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/errors.hpp"

namespace cr3rig {

namespace {

void read_results(const std::string& dir, std::vector<ScheduleResult>& results)
{
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw BadInput("merge: " + dir + " is not a directory");
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        std::string name = entry.path().filename().string();
        if (name.rfind("schedules-", 0) != 0 || entry.path().extension() != ".jsonl")
            continue;
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);)
            if (!line.empty())
                results.push_back(ScheduleResult::from_json_line(line));
    }
}

}  // namespace

void write_results(const std::string& dir, unsigned shard_k, unsigned shard_n,
                   const std::vector<ScheduleResult>& results)
{
    std::filesystem::create_directories(dir);
    std::string name = "schedules-" + std::to_string(shard_k) + "-of-" + std::to_string(shard_n) + ".jsonl";
    std::ofstream out(std::filesystem::path(dir) / name);
    if (!out)
        throw BadInput("cannot write to --out " + dir);
    for (const auto& r : results)
        out << r.to_json_line() << "\n";
}

std::vector<ScheduleResult> merge_results(const std::vector<std::string>& dirs)
{
    std::vector<ScheduleResult> results;
    for (const auto& dir : dirs)
        read_results(dir, results);
    if (results.empty())
        throw BadInput("merge: no campaign results (schedules-*.jsonl) in the given directories");
    std::sort(results.begin(), results.end(), campaign_order);
    results.erase(std::unique(results.begin(), results.end(),
                              [](const auto& a, const auto& b) { return a.index == b.index && a.sub == b.sub; }),
                  results.end());
    return results;
}

}  // namespace cr3rig
