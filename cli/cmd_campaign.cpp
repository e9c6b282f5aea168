// cr3rig campaign / merge / replay: explore every injection point of a guest, combine
// sharded outputs, reproduce one schedule from its token.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "campaign/campaign_runner.hpp"
#include "cli/commands.hpp"
#include "vmm/elf_loader.hpp"
#include "common/errors.hpp"
#include "cli/guest_source.hpp"
#include "report/history.hpp"
#include "report/html_report.hpp"
#include "common/verdict.hpp"

namespace cr3rig::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct CampaignArgs {
    std::string guest;
    std::string out;
    std::string shard;
    unsigned jobs = 1;
    uint64_t max = 0;  // 0 = all
    double time_s = 0;  // 0 = no budget
    std::optional<uint64_t> random_seed;
    bool fresh = false;  // a new VM per schedule instead of the snapshot
    CampaignOptions options;
};

// 0 every schedule passed clean, 1 any failed or found something, 3 only crashes/timeouts.
int campaign_exit_code(const std::vector<ScheduleResult>& results)
{
    bool failed = false, broke = false;
    for (const auto& r : results) {
        failed |= r.verdict == "FAIL" || r.signature != "clean";
        broke |= r.verdict == "CRASH" || r.verdict == "TIMEOUT";
    }
    return failed ? kExitFail : broke ? kExitCrash : kExitPass;
}

void print_groups(const std::vector<ScheduleResult>& results, const std::string& title)
{
    auto groups = group_results(results);
    std::printf("%s: %zu schedules, %zu groups\n", title.c_str(), results.size(), groups.size());
    std::printf("%6s  %-12s %-36s %s\n", "count", "first", "replay token", "signature");
    for (const auto& g : groups)
        std::printf("%6zu  %-12s %-36s %s\n", g.count, g.first.schedule.policy().c_str(), g.first.token.c_str(),
                    g.signature.c_str());
}

// --out DIR: each finding group's first schedule is replayed once more with its CR3
// history kept (DIR/group-N.jsonl) and drawn as a report (DIR/group-N.html).
void write_group_reports(const ElfImage& image, const std::vector<ScheduleResult>& results, const CampaignArgs& args)
{
    size_t n = 0;
    for (const auto& g : group_results(results)) {
        n++;
        if (g.first.signature == "clean")
            continue;
        auto base = std::filesystem::path(args.out) / ("group-" + std::to_string(n));
        std::string history_path = base.string() + ".jsonl", report_path = base.string() + ".html";
        ScheduleResult replayed =
            run_schedule(image, g.first.schedule, args.options, g.first.index, g.first.sub, history_path);
        report::History history = report::read_history_file(history_path);
        history.name = history_path;
        report::write_html_report_file(history, report_path);
        std::printf("report of group %zu (%s): %s%s\n", n, g.first.schedule.policy().c_str(), report_path.c_str(),
                    replayed.signature == g.first.signature ? "" : " (the replay came out differently: see the report)");
    }
}

void write_line(int fd, const std::string& line)
{
    for (size_t off = 0; off < line.size();) {
        ssize_t n = ::write(fd, line.data() + off, line.size() - off);
        if (n <= 0)
            throw std::runtime_error("the campaign's result pipe closed");
        off += static_cast<size_t>(n);
    }
}

// Runs `indices` of `schedules` (and, with --preemptions, their extensions) in this
// process, writing one JSON line per result to fd.
void work(const ElfImage& image, const std::vector<Schedule>& schedules, const std::vector<size_t>& indices,
          const CampaignArgs& args, Clock::time_point deadline, int fd)
{
    std::unique_ptr<SnapshotCampaign> snapshot;
    if (!args.fresh && !indices.empty())
        snapshot = std::make_unique<SnapshotCampaign>(image, args.options);
    for (size_t i : indices) {
        if (Clock::now() >= deadline)
            break;
        auto run = [&](const Schedule& schedule, size_t sub) {
            return snapshot ? snapshot->run(schedule, i, sub) : run_schedule(image, schedule, args.options, i, sub);
        };
        explore(schedules[i], args.options.max_preemptions, run, [&](const ScheduleResult& r) {
            write_line(fd, r.to_json_line() + "\n");
            return Clock::now() < deadline;
        });
    }
}

// --jobs N: N worker processes, schedules dealt round-robin, results back over pipes.
std::vector<ScheduleResult> run_parallel(const ElfImage& image, const std::vector<Schedule>& schedules,
                                         const std::vector<size_t>& indices, const CampaignArgs& args,
                                         Clock::time_point deadline)
{
    std::vector<pid_t> pids;
    std::vector<pollfd> fds;
    std::vector<std::string> partial;
    std::fflush(nullptr);
    for (unsigned j = 0; j < args.jobs; j++) {
        std::vector<size_t> mine;
        for (size_t p = j; p < indices.size(); p += args.jobs)
            mine.push_back(indices[p]);
        int pipefd[2];
        if (::pipe(pipefd) != 0)
            throw std::runtime_error("pipe failed");
        pid_t pid = ::fork();
        if (pid < 0)
            throw std::runtime_error("fork failed");
        if (pid == 0) {
            ::close(pipefd[0]);
            try {
                work(image, schedules, mine, args, deadline, pipefd[1]);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "cr3rig: campaign worker: %s\n", e.what());
                ::_exit(kExitCrash);
            }
            ::_exit(0);
        }
        ::close(pipefd[1]);
        pids.push_back(pid);
        fds.push_back({pipefd[0], POLLIN, 0});
        partial.emplace_back();
    }

    std::vector<ScheduleResult> results;
    size_t open = fds.size();
    bool tty = ::isatty(2);
    while (open > 0) {
        ::poll(fds.data(), fds.size(), -1);
        for (size_t j = 0; j < fds.size(); j++) {
            if (fds[j].fd < 0 || !(fds[j].revents & (POLLIN | POLLHUP)))
                continue;
            char buf[4096];
            ssize_t n = ::read(fds[j].fd, buf, sizeof buf);
            if (n <= 0) {
                ::close(fds[j].fd);
                fds[j].fd = -1;
                open--;
                continue;
            }
            partial[j].append(buf, static_cast<size_t>(n));
            for (size_t nl; (nl = partial[j].find('\n')) != std::string::npos;) {
                results.push_back(ScheduleResult::from_json_line(partial[j].substr(0, nl)));
                partial[j].erase(0, nl + 1);
                size_t with = std::count_if(results.begin(), results.end(),
                                            [](const ScheduleResult& r) { return r.signature != "clean"; });
                size_t roots = std::count_if(results.begin(), results.end(),
                                             [](const ScheduleResult& r) { return r.sub == 0; });
                bool new_root = results.back().sub == 0;
                if (tty)
                    std::fprintf(stderr, "\rcampaign: %zu/%zu schedules, %zu run in all, %zu with findings", roots,
                                 indices.size(), results.size(), with);
                else if (new_root && roots % std::max<size_t>(1, indices.size() / 10) == 0)
                    std::fprintf(stderr, "campaign: %zu/%zu schedules, %zu run in all, %zu with findings\n", roots,
                                 indices.size(), results.size(), with);
            }
        }
    }
    if (tty)
        std::fprintf(stderr, "\n");
    for (pid_t pid : pids) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("a campaign worker failed");
    }
    std::sort(results.begin(), results.end(), campaign_order);
    return results;
}

int campaign(const CampaignArgs& args)
{
    auto loaded = load_guest(args.guest);
    const ElfImage& image = require_elf64(*loaded, "cr3rig campaign");
    auto [shard_k, shard_n] = args.shard.empty() ? std::pair{1u, 1u} : parse_shard(args.shard);
    auto start = Clock::now();

    std::vector<unsigned> windows =
        args.fresh ? measure_windows(image, args.options) : SnapshotCampaign(image, args.options).measure_windows();
    std::vector<Schedule> schedules = enumerate_schedules(windows);
    size_t enumerated = schedules.size();
    if (args.random_seed) {
        std::mt19937_64 rng(*args.random_seed);
        std::shuffle(schedules.begin(), schedules.end(), rng);
    }
    if (args.max && schedules.size() > args.max)
        schedules.resize(args.max);
    auto indices = shard_indices(schedules.size(), shard_k, shard_n);
    std::fprintf(stderr,
                 "campaign %s: %zu CR3 reads, %zu schedules (read x offset)%s, up to %u preemptions per run, "
                 "shard %u/%u: %zu, %u jobs, %s\n",
                 args.guest.c_str(), windows.size(), enumerated,
                 args.random_seed ? (", shuffled by seed " + std::to_string(*args.random_seed)).c_str() : "",
                 args.options.max_preemptions, shard_k, shard_n, indices.size(), args.jobs,
                 args.fresh ? "a fresh VM per schedule" : "each schedule from a snapshot at the first CR3 read");

    auto deadline = args.time_s > 0 ? start + std::chrono::milliseconds(static_cast<long long>(args.time_s * 1000))
                                    : Clock::time_point::max();
    auto results = run_parallel(image, schedules, indices, args, deadline);
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    if (!args.out.empty()) {
        std::filesystem::create_directories(args.out);
        std::string name = "schedules-" + std::to_string(shard_k) + "-of-" + std::to_string(shard_n) + ".jsonl";
        std::ofstream out(std::filesystem::path(args.out) / name);
        if (!out)
            throw BadInput("cannot write to --out " + args.out);
        for (const auto& r : results)
            out << r.to_json_line() << "\n";
    }
    print_groups(results, "campaign " + args.guest);
    if (!args.out.empty())
        write_group_reports(image, results, args);
    size_t roots = std::count_if(results.begin(), results.end(), [](const ScheduleResult& r) { return r.sub == 0; });
    std::string extended = roots < results.size() ? " and " + std::to_string(results.size() - roots) +
                                                        " with up to " + std::to_string(args.options.max_preemptions) +
                                                        " preemptions"
                                                  : "";
    std::printf("%zu of %zu schedules%s run in %.1f s (%.1f runs/s)%s\n", roots, indices.size(), extended.c_str(),
                seconds, static_cast<double>(results.size()) / seconds,
                roots < indices.size() || (args.time_s > 0 && seconds >= args.time_s) ? ", stopped by --time" : "");
    return campaign_exit_code(results);
}

int merge(const std::vector<std::string>& dirs)
{
    std::vector<ScheduleResult> results;
    for (const auto& dir : dirs) {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec))
            throw BadInput("merge: " + dir + " is not a directory");
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
            // Only the results: the same directory holds the finding groups' histories.
            std::string name = entry.path().filename().string();
            if (name.rfind("schedules-", 0) != 0 || entry.path().extension() != ".jsonl")
                continue;
            std::ifstream in(entry.path());
            for (std::string line; std::getline(in, line);)
                if (!line.empty())
                    results.push_back(ScheduleResult::from_json_line(line));
        }
    }
    if (results.empty())
        throw BadInput("merge: no campaign results (schedules-*.jsonl) in the given directories");
    std::sort(results.begin(), results.end(), campaign_order);
    results.erase(std::unique(results.begin(), results.end(),
                              [](const auto& a, const auto& b) { return a.index == b.index && a.sub == b.sub; }),
                  results.end());
    print_groups(results, "merged");
    return campaign_exit_code(results);
}

int replay(const std::string& token_text, const std::string& guest)
{
    ReplayToken token = ReplayToken::decode(token_text);
    auto loaded = load_guest(guest);
    const ElfImage& image = require_elf64(*loaded, "cr3rig replay");
    if (content_hash(image.bytes()) != token.guest_hash)
        throw BadInput("replay token " + token_text + " was made for another guest image");
    CampaignOptions options;
    options.rig_clock = token.rig_clock;
    options.livelock_faults = token.livelock_faults;
    ScheduleResult r = run_schedule(image, token.schedule, options, 0);
    for (const auto& f : r.findings)
        std::printf("FINDING %s\n", f.c_str());
    std::printf("%s %s: %s (%s)\n", guest.c_str(), token.schedule.policy().c_str(), r.verdict.c_str(),
                r.signature.c_str());
    return r.verdict == "PASS" && r.signature == "clean" ? kExitPass
           : r.verdict == "CRASH"                         ? kExitCrash
           : r.verdict == "TIMEOUT"                       ? kExitTimeout
           : r.verdict == "SKIP" && r.signature == "clean" ? kExitSkip
                                                          : kExitFail;
}

}  // namespace

void add_campaign_commands(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<CampaignArgs>();
    auto* cmd = app.add_subcommand("campaign", "Inject at every CR3 read and offset of a guest, group the findings");
    cmd->add_option("guest", args->guest, "Guest ELF64 image or builtin:NAME")->required();
    cmd->add_option("--out", args->out, "Directory for the results as JSON Lines (schedules-K-of-N.jsonl)");
    cmd->add_option("--jobs,-j", args->jobs, "Worker processes")->check(CLI::Range(1, 64))->capture_default_str();
    cmd->add_option("--shard", args->shard, "Run only the K-th of N deterministic slices (K/N)");
    cmd->add_option("--max", args->max, "Run at most this many schedules (0 = all)");
    cmd->add_option("--time", args->time_s, "Stop starting schedules after this many seconds (0 = no limit)")
        ->check(CLI::Range(0.0, 86400.0));
    cmd->add_option("--random", args->random_seed, "Shuffle the schedules with this seed (use with --max/--time)");
    cmd->add_option("--preemptions", args->options.max_preemptions,
                    "Preemptions per run: with 2 or more, every clean run is extended by one more preemption at "
                    "each later read and offset, depth first")
        ->check(CLI::Range(1u, kMaxPreemptions))
        ->capture_default_str();
    cmd->add_flag("--fresh", args->fresh,
                  "Boot a fresh VM for every schedule instead of restoring the snapshot taken at the first CR3 read");
    cmd->add_option("--rig-clock", args->options.rig_clock, "Deterministic guest time: a tick every N exits")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
        ->capture_default_str();
    cmd->add_option("--livelock-faults", args->options.livelock_faults, "Faults at one RIP and address that make a livelock")
        ->check(CLI::Range(uint64_t{2}, uint64_t{1} << 40))
        ->capture_default_str();
    cmd->footer("Exit codes: 0 every schedule clean, 1 findings, 2 bad input, 3 crashes or timeouts only.");
    cmd->callback([args, exit_code] { *exit_code = campaign(*args); });

    auto dirs = std::make_shared<std::vector<std::string>>();
    auto* merge_cmd = app.add_subcommand("merge", "Combine the --out directories of campaign shards into one report");
    merge_cmd->add_option("dirs", *dirs, "Campaign --out directories")->required();
    merge_cmd->callback([dirs, exit_code] { *exit_code = merge(*dirs); });

    auto token = std::make_shared<std::string>();
    auto guest = std::make_shared<std::string>();
    auto* replay_cmd = app.add_subcommand("replay", "Run one campaign schedule again from its replay token");
    replay_cmd->add_option("token", *token, "Replay token (cr3rig1-...)")->required();
    replay_cmd->add_option("guest", *guest, "The guest image the token was made for")->required();
    replay_cmd->callback([token, guest, exit_code] { *exit_code = replay(*token, *guest); });
}

}  // namespace cr3rig::cli
