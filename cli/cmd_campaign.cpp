// cr3rig campaign / merge / replay: explore every injection point of a guest, combine
// sharded outputs, reproduce one schedule from its token. The work is campaign/'s; this
// file parses the options, calls it and prints.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "campaign/group_reports.hpp"
#include "campaign/merge.hpp"
#include "campaign/out_dir.hpp"
#include "campaign/plan.hpp"
#include "campaign/replay.hpp"
#include "campaign/workers.hpp"
#include "cli/commands.hpp"
#include "cli/guest_source.hpp"
#include "cli/option_checks.hpp"
#include "cli/run_report.hpp"
#include "common/stop_signals.hpp"
#include "common/verdict.hpp"
#include "traps/trap_backend.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig::cli {

namespace {

constexpr const char* kDefaultTimeout = "30s";  // per run: the reference run, each schedule, a replay

struct CampaignArgs {
    std::string guest;
    std::string out;
    std::string timeout = kDefaultTimeout;
    std::string trap_backend = "auto";
    CampaignSettings settings;
};

struct ReplayArgs {
    std::string token;
    std::string guest;
    std::string timeout = kDefaultTimeout;
    std::string trace;
    std::string report;
};

std::chrono::milliseconds timeout_of(const std::string& text)
{
    return std::chrono::milliseconds(static_cast<long long>(parse_duration_option(text) * 1000));
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

// A guest whose run without injection does not pass has nothing to explore: its
// verdict is the campaign's, in one line, and its exit code (1, 3, 124, ...).
int reference_did_not_pass(const std::string& guest, const Verdict& verdict)
{
    std::string findings = verdict.findings.empty() ? "" : "; findings: " + signature(verdict.findings);
    std::fprintf(stderr, "cr3rig: campaign %s: the reference run (no injection) did not pass: %s: %s%s; no schedule run\n",
                 guest.c_str(), std::string(name_of(verdict.kind)).c_str(), verdict.reason.c_str(), findings.c_str());
    return exit_code_of(verdict.kind);
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

std::string stop_reason(const CampaignRun& run)
{
    if (run.stopped_by_signal)
        return signal_name(run.stopped_by_signal);
    return run.stopped_by_time ? "--time" : "";
}

void print_summary(const CampaignRun& run, const CampaignPlan& plan, const CampaignSettings& settings)
{
    size_t extensions = run.results.size() - run.roots;
    std::string extended = extensions > 0 ? " and " + std::to_string(extensions) + " with up to " +
                                                std::to_string(settings.options.max_preemptions) + " preemptions"
                                          : "";
    std::string stopped = stop_reason(run).empty() ? "" : ", incomplete: stopped by " + stop_reason(run);
    std::printf("%zu of %zu schedules%s run in %.1f s (%.1f runs/s)%s\n", run.roots, plan.indices.size(),
                extended.c_str(), run.seconds, static_cast<double>(run.results.size()) / run.seconds,
                stopped.c_str());
}

ShardSummary final_summary(ShardSummary summary, const CampaignRun& run)
{
    summary.roots_run = run.roots;
    summary.runs = run.results.size();
    summary.stopped_by = stop_reason(run);
    summary.complete = summary.stopped_by.empty();
    return summary;
}

// Runs the plan, streaming each result to --out as it arrives, so that an interrupted
// campaign keeps what finished.
CampaignRun run_to_out(const ElfImage& image, const CampaignArgs& args, const CampaignPlan& plan)
{
    if (args.out.empty())
        return run_campaign(image, plan, args.settings, progress_printer());
    ShardSummary planned = planned_summary(args.guest, content_hash(image.bytes()), plan, args.settings);
    ShardOutput output(args.out, planned);
    CampaignRun run = run_campaign(image, plan, args.settings, progress_printer(),
                                   [&output](const ScheduleResult& r) { output.add(r); });
    output.finish(run.results, final_summary(planned, run));
    return run;
}

int campaign(CampaignArgs& args)
{
    if (!args.out.empty())
        check_out_dir(args.out);  // before any run: a bad --out is found at once
    args.settings.options.timeout = timeout_of(args.timeout);
    args.settings.options.backend = parse_trap_backend(args.trap_backend).value_or(TrapBackend::Auto);
    auto loaded = load_guest(args.guest);
    const ElfImage& image = require_elf64(*loaded, "cr3rig campaign");
    CampaignPlan plan = plan_campaign(image, args.settings);
    if (!plan.reference.passed())
        return reference_did_not_pass(args.guest, plan.reference);
    if (plan.reads == 0) {
        std::fprintf(stderr, "cr3rig: campaign %s: the reference run passed without a CR3 read: nothing to explore\n",
                     args.guest.c_str());
        return exit_code_of(VerdictKind::Pass);
    }
    print_plan(args, plan);
    CampaignRun run = run_to_out(image, args, plan);
    std::string incomplete = run.stopped_by_signal ? " (incomplete)" : "";
    print_groups(run.results, "campaign " + args.guest + incomplete);
    if (!args.out.empty() && !run.stopped_by_signal)
        write_group_reports(image, run.results, args.out, args.settings.options, print_group_report);
    print_summary(run, plan, args.settings);
    if (run.stopped_by_signal)
        return 128 + run.stopped_by_signal;  // as a shell reports a command a signal ended
    return campaign_exit_code(run.results);
}

int merge(const std::vector<std::string>& dirs)
{
    MergedCampaign merged = merge_results(dirs);
    for (const auto& shard : merged.incomplete)
        std::fprintf(stderr, "cr3rig: merge: incomplete %s\n", shard.c_str());
    print_groups(merged.results, merged.incomplete.empty() ? "merged" : "merged (incomplete)");
    return campaign_exit_code(merged.results);
}

int replay(const ReplayArgs& args)
{
    ReplayToken token = ReplayToken::decode(args.token);
    auto loaded = load_guest(args.guest);
    const ElfImage& image = require_elf64(*loaded, "cr3rig replay");
    std::unique_ptr<RunReport> report;  // checks --report before the run
    if (!args.report.empty())
        report = std::make_unique<RunReport>(args.report, args.trace);
    ReplayOptions options{timeout_of(args.timeout), report ? report->history_path() : args.trace};
    ScheduleResult r = cr3rig::replay(args.token, token, image, options);
    if (report)
        report->write();
    for (const auto& f : r.findings)
        spdlog::warn("FINDING {}", f);  // as `cr3rig run` prints them
    std::printf("%s %s: %s (%s)\n", args.guest.c_str(), token.schedule.policy().c_str(),
                std::string(name_of(r.verdict)).c_str(), r.signature.c_str());
    return exit_code_of(r.verdict);  // composed by the run: any finding made it FAIL
}

void add_campaign_options(CLI::App* cmd, CampaignArgs& args)
{
    CampaignSettings& settings = args.settings;
    cmd->add_option("--jobs,-j", settings.jobs, "Worker processes")
        ->check(whole_number())
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--shard", settings.shard, "Run only the K-th of N deterministic slices (K/N)");
    cmd->add_option("--max", settings.max, "Run at most this many schedules (0 = all)")->check(whole_number());
    cmd->add_option("--time", settings.time_s, "Stop starting schedules after this many seconds (0 = no limit)")
        ->check(finite_number())
        ->check(CLI::Range(0.0, 86400.0));
    cmd->add_option("--timeout", args.timeout,
                    "Deadline of each run, the reference run's and every schedule's (30, 30s, 2m); past it the "
                    "run is TIMEOUT")
        ->check(duration())
        ->capture_default_str();
    cmd->add_option("--random", settings.random_seed, "Shuffle the schedules with this seed (use with --max/--time)")
        ->check(whole_number());
    cmd->add_option("--preemptions", settings.options.max_preemptions,
                    "Preemptions per run: with 2 or more, every clean run is extended by one more preemption at "
                    "each later read and offset, depth first")
        ->check(whole_number())
        ->check(CLI::Range(1u, kMaxPreemptions))
        ->capture_default_str();
    cmd->add_flag("--fresh", settings.fresh,
                  "Boot a fresh VM for every schedule instead of restoring the snapshot taken at the first CR3 read");
    cmd->add_option("--rig-clock", settings.options.rig_clock, "Deterministic guest time: a tick every N exits")
        ->check(whole_number())
        ->check(CLI::Range(kMinCampaignRigClock, kMaxCampaignRigClock))
        ->capture_default_str();
    cmd->add_option("--trap-backend", args.trap_backend,
                    "How trapped instructions exit, as `run --trap-backend` (auto, hw, port, int3, step); a forced "
                    "one goes into the replay tokens")
        ->check(CLI::IsMember(trap_backend_names()))
        ->capture_default_str();
    cmd->add_option("--livelock-faults", settings.options.livelock_faults,
                    "Faults at one RIP and address that make a livelock")
        ->check(whole_number())
        ->check(CLI::Range(kMinLivelockFaults, kMaxLivelockFaults))
        ->capture_default_str();
}

void add_campaign_command(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<CampaignArgs>();
    auto* cmd = app.add_subcommand("campaign", "Inject at every CR3 read and offset of a guest, group the findings");
    cmd->add_option("guest", args->guest, "Guest ELF64 image or builtin:NAME")->required();
    cmd->add_option("--out", args->out,
                    "Directory for the results as JSON Lines (schedules-K-of-N.jsonl, summary-K-of-N.json); "
                    "checked before anything runs");
    add_campaign_options(cmd, *args);
    cmd->footer(
        "Exit codes: 0 every schedule clean, 1 findings, 2 bad input, 3 a schedule crashed (none found anything),\n"
        "124 a schedule timed out (none crashed or found anything). A guest whose reference run (no injection)\n"
        "does not pass exits with that run's code (1, 3, 124). SIGINT/SIGTERM: the results so far are kept,\n"
        "marked incomplete, exit 130/143.");
    cmd->callback([args, exit_code] { *exit_code = campaign(*args); });
}

void add_merge_command(CLI::App& app, int* exit_code)
{
    auto dirs = std::make_shared<std::vector<std::string>>();
    auto* cmd = app.add_subcommand("merge", "Combine the --out directories of campaign shards into one report");
    cmd->add_option("dirs", *dirs, "Campaign --out directories: every shard of one campaign, in any order")
        ->required();
    cmd->footer(
        "Exit codes: as campaign's; 2 also for shards of different guests or settings, a shard given twice,\n"
        "or a missing shard.");
    cmd->callback([dirs, exit_code] { *exit_code = merge(*dirs); });
}

void add_replay_command(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<ReplayArgs>();
    auto* cmd = app.add_subcommand("replay", "Run one campaign schedule again from its replay token");
    cmd->add_option("token", args->token, "Replay token (cr3rig1-...)")->required();
    cmd->add_option("guest", args->guest, "The guest image the token was made for")->required();
    cmd->add_option("--trace", args->trace, "Write the run's CR3 history as JSON Lines");
    cmd->add_option("--report", args->report, "Write an HTML report of the run's CR3 history");
    cmd->add_option("--timeout", args->timeout, "Deadline of the run (30, 30s, 2m); past it the verdict is TIMEOUT")
        ->check(duration())
        ->capture_default_str();
    cmd->footer(
        "Exit codes: 0 pass, 1 bug found, 2 bad input (a token for another guest, or one no campaign of it\n"
        "makes), 3 crash, 124 timeout.");
    cmd->callback([args, exit_code] { *exit_code = replay(*args); });
}

}  // namespace

void add_campaign_commands(CLI::App& app, int* exit_code)
{
    add_campaign_command(app, exit_code);
    add_merge_command(app, exit_code);
    add_replay_command(app, exit_code);
}

}  // namespace cr3rig::cli
