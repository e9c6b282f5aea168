// cr3rig campaign / merge / replay: explore every injection point of a guest, combine
// sharded outputs, reproduce one schedule from its token. The work is campaign/'s; this
// file parses the options, calls it and prints.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "campaign/group_reports.hpp"
#include "campaign/out_dir.hpp"
#include "campaign/plan.hpp"
#include "campaign/replay.hpp"
#include "campaign/workers.hpp"
#include "cli/commands.hpp"
#include "cli/guest_source.hpp"
#include "common/verdict.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig::cli {

namespace {

struct CampaignArgs {
    std::string guest;
    std::string out;
    CampaignSettings settings;
};

void print_groups(const std::vector<ScheduleResult>& results, const std::string& title)
{
    auto groups = group_results(results);
    std::printf("%s: %zu schedules, %zu groups\n", title.c_str(), results.size(), groups.size());
    std::printf("%6s  %-12s %-36s %s\n", "count", "first", "replay token", "signature");
    for (const auto& g : groups)
        std::printf("%6zu  %-12s %-36s %s\n", g.count, g.first.schedule.policy().c_str(), g.first.token.c_str(),
                    g.signature.c_str());
}

void print_plan(const CampaignArgs& args, const CampaignPlan& plan)
{
    const CampaignSettings& s = args.settings;
    std::fprintf(stderr,
                 "campaign %s: %zu CR3 reads, %zu schedules (read x offset)%s, up to %u preemptions per run, "
                 "shard %u/%u: %zu, %u jobs, %s\n",
                 args.guest.c_str(), plan.reads, plan.enumerated,
                 s.random_seed ? (", shuffled by seed " + std::to_string(*s.random_seed)).c_str() : "",
                 s.options.max_preemptions, plan.shard_k, plan.shard_n, plan.indices.size(), s.jobs,
                 s.fresh ? "a fresh VM per schedule" : "each schedule from a snapshot at the first CR3 read");
}

// On a terminal the progress line is rewritten after every result; otherwise a line is
// written at every tenth of the schedules.
ProgressFn progress_printer()
{
    bool tty = ::isatty(2);
    return [tty](const CampaignProgress& p) {
        if (p.finished) {
            if (tty)
                std::fprintf(stderr, "\n");
        } else if (tty) {
            std::fprintf(stderr, "\rcampaign: %zu/%zu schedules, %zu run in all, %zu with findings", p.roots,
                         p.total_roots, p.runs, p.with_findings);
        } else if (p.new_root && p.roots % std::max<size_t>(1, p.total_roots / 10) == 0) {
            std::fprintf(stderr, "campaign: %zu/%zu schedules, %zu run in all, %zu with findings\n", p.roots,
                         p.total_roots, p.runs, p.with_findings);
        }
    };
}

void print_group_report(const GroupReport& g)
{
    std::printf("report of group %zu (%s): %s%s\n", g.group, g.first.policy().c_str(), g.path.c_str(),
                g.replayed_differently ? " (the replay came out differently: see the report)" : "");
}

void print_summary(const CampaignRun& run, const CampaignPlan& plan, const CampaignSettings& settings)
{
    size_t extensions = run.results.size() - run.roots;
    std::string extended = extensions > 0 ? " and " + std::to_string(extensions) + " with up to " +
                                                std::to_string(settings.options.max_preemptions) + " preemptions"
                                          : "";
    std::printf("%zu of %zu schedules%s run in %.1f s (%.1f runs/s)%s\n", run.roots, plan.indices.size(),
                extended.c_str(), run.seconds, static_cast<double>(run.results.size()) / run.seconds,
                run.stopped_by_time ? ", stopped by --time" : "");
}

int campaign(const CampaignArgs& args)
{
    auto loaded = load_guest(args.guest);
    const ElfImage& image = require_elf64(*loaded, "cr3rig campaign");
    CampaignPlan plan = plan_campaign(image, args.settings);
    print_plan(args, plan);
    CampaignRun run = run_campaign(image, plan, args.settings, progress_printer());
    if (!args.out.empty())
        write_results(args.out, plan.shard_k, plan.shard_n, run.results);
    print_groups(run.results, "campaign " + args.guest);
    if (!args.out.empty())
        write_group_reports(image, run.results, args.out, args.settings.options, print_group_report);
    print_summary(run, plan, args.settings);
    return campaign_exit_code(run.results);
}

int merge(const std::vector<std::string>& dirs)
{
    std::vector<ScheduleResult> results = merge_results(dirs);
    print_groups(results, "merged");
    return campaign_exit_code(results);
}

int replay(const std::string& token_text, const std::string& guest)
{
    ReplayToken token = ReplayToken::decode(token_text);
    auto loaded = load_guest(guest);
    const ElfImage& image = require_elf64(*loaded, "cr3rig replay");
    ScheduleResult r = cr3rig::replay(token_text, token, image);
    for (const auto& f : r.findings)
        std::printf("FINDING %s\n", f.c_str());
    std::printf("%s %s: %s (%s)\n", guest.c_str(), token.schedule.policy().c_str(),
                std::string(name_of(r.verdict)).c_str(), r.signature.c_str());
    return exit_code_of(r.verdict);  // composed by the run: any finding made it FAIL
}

}  // namespace

void add_campaign_commands(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<CampaignArgs>();
    auto* cmd = app.add_subcommand("campaign", "Inject at every CR3 read and offset of a guest, group the findings");
    cmd->add_option("guest", args->guest, "Guest ELF64 image or builtin:NAME")->required();
    cmd->add_option("--out", args->out, "Directory for the results as JSON Lines (schedules-K-of-N.jsonl)");
    CampaignSettings& settings = args->settings;
    cmd->add_option("--jobs,-j", settings.jobs, "Worker processes")->check(CLI::Range(1, 64))->capture_default_str();
    cmd->add_option("--shard", settings.shard, "Run only the K-th of N deterministic slices (K/N)");
    cmd->add_option("--max", settings.max, "Run at most this many schedules (0 = all)");
    cmd->add_option("--time", settings.time_s, "Stop starting schedules after this many seconds (0 = no limit)")
        ->check(CLI::Range(0.0, 86400.0));
    cmd->add_option("--random", settings.random_seed, "Shuffle the schedules with this seed (use with --max/--time)");
    cmd->add_option("--preemptions", settings.options.max_preemptions,
                    "Preemptions per run: with 2 or more, every clean run is extended by one more preemption at "
                    "each later read and offset, depth first")
        ->check(CLI::Range(1u, kMaxPreemptions))
        ->capture_default_str();
    cmd->add_flag("--fresh", settings.fresh,
                  "Boot a fresh VM for every schedule instead of restoring the snapshot taken at the first CR3 read");
    cmd->add_option("--rig-clock", settings.options.rig_clock, "Deterministic guest time: a tick every N exits")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
        ->capture_default_str();
    cmd->add_option("--livelock-faults", settings.options.livelock_faults,
                    "Faults at one RIP and address that make a livelock")
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
