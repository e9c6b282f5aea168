#include "campaign/out_dir.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "campaign/plan.hpp"
#include "common/errors.hpp"

namespace cr3rig {

namespace fs = std::filesystem;

namespace {

std::string shard_suffix(unsigned k, unsigned n) { return std::to_string(k) + "-of-" + std::to_string(n); }

// Writes `text` beside `path` and renames it over: readers see the old file or the new.
void replace_file(const fs::path& path, const std::string& text)
{
    fs::path temporary = path;
    temporary += ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << text;
        out.flush();
        if (!out)
            throw BadInput("cannot write " + temporary.string() + ": " + std::strerror(errno));
    }
    fs::rename(temporary, path);
}

std::string settings_value(const std::optional<uint64_t>& value)
{
    return value ? std::to_string(*value) : "none";
}

}  // namespace

std::string results_file_name(unsigned k, unsigned n) { return "schedules-" + shard_suffix(k, n) + ".jsonl"; }

std::string summary_file_name(unsigned k, unsigned n) { return "summary-" + shard_suffix(k, n) + ".json"; }

ShardSummary planned_summary(const std::string& guest, uint64_t guest_hash, const CampaignPlan& plan,
                             const CampaignSettings& settings)
{
    const CampaignOptions& o = settings.options;
    ShardSummary s;
    s.guest = guest;
    s.guest_hash = guest_hash;
    s.shard_k = plan.shard_k;
    s.shard_n = plan.shard_n;
    s.settings = {{"schedules", std::to_string(plan.schedules.size())},
                  {"max", std::to_string(settings.max)},
                  {"random", settings_value(settings.random_seed)},
                  {"preemptions", std::to_string(o.max_preemptions)},
                  {"rig_clock", std::to_string(o.rig_clock)},
                  {"trap_backend", name_of(o.backend)},
                  {"livelock_faults", std::to_string(o.livelock_faults)},
                  {"livelock_abort", std::to_string(o.livelock_abort)},
                  {"timeout_ms", std::to_string(o.timeout.count())},
                  {"window_bound", std::to_string(o.window_bound)}};
    s.schedules = plan.indices.size();
    return s;
}

std::string ShardSummary::to_json() const
{
    nlohmann::json j{{"guest", guest},          {"guest_hash", guest_hash},
                     {"shard", {shard_k, shard_n}}, {"settings", settings},
                     {"schedules", schedules},  {"schedules_run", roots_run},
                     {"runs", runs},            {"status", complete ? "complete" : "incomplete"},
                     {"stopped_by", stopped_by}};
    return j.dump(2) + "\n";
}

ShardSummary ShardSummary::from_json(const std::string& text)
{
    try {
        auto j = nlohmann::json::parse(text);
        ShardSummary s;
        s.guest = j.at("guest");
        s.guest_hash = j.at("guest_hash");
        s.shard_k = j.at("shard").at(0);
        s.shard_n = j.at("shard").at(1);
        s.settings = j.at("settings").get<std::map<std::string, std::string>>();
        s.schedules = j.at("schedules");
        s.roots_run = j.at("schedules_run");
        s.runs = j.at("runs");
        s.complete = j.at("status") == "complete";
        s.stopped_by = j.at("stopped_by");
        return s;
    } catch (const nlohmann::json::exception& e) {
        throw BadInput(std::string("not a campaign summary: ") + e.what());
    }
}

void check_out_dir(const std::string& dir)
{
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw BadInput("--out " + dir + " is not a directory");
    fs::create_directories(dir, ec);
    if (ec)
        throw BadInput("cannot create --out " + dir + ": " + ec.message());
    // Permissions alone do not say it (root, read-only mounts): try a file.
    fs::path probe = fs::path(dir) / (".cr3rig-probe-" + std::to_string(::getpid()));
    bool writable = static_cast<bool>(std::ofstream(probe));
    int error = errno;
    fs::remove(probe, ec);
    if (!writable)
        throw BadInput("cannot write to --out " + dir + ": " + std::strerror(error));
}

ShardOutput::ShardOutput(std::string dir, ShardSummary summary) : dir_(std::move(dir))
{
    replace_file(fs::path(dir_) / summary_file_name(summary.shard_k, summary.shard_n), summary.to_json());
    fs::path path = fs::path(dir_) / results_file_name(summary.shard_k, summary.shard_n);
    results_.open(path, std::ios::trunc);
    if (!results_)
        throw BadInput("cannot write " + path.string() + ": " + std::strerror(errno));
}

void ShardOutput::add(const ScheduleResult& result)
{
    results_ << result.to_json_line() << "\n";
    results_.flush();
}

void ShardOutput::finish(const std::vector<ScheduleResult>& results, const ShardSummary& summary)
{
    results_.close();
    std::string lines;
    for (const auto& r : results)
        lines += r.to_json_line() + "\n";
    replace_file(fs::path(dir_) / results_file_name(summary.shard_k, summary.shard_n), lines);
    replace_file(fs::path(dir_) / summary_file_name(summary.shard_k, summary.shard_n), summary.to_json());
}

}  // namespace cr3rig
