// Benchmarks of the VMM floor, measured in one run so the ratios mean something on a
// noisy shared machine:
//   - raw KVM_RUN round trip for a port-I/O exit (the `pingpong` guest's writes to a
//     no-op port, timed by the host between the first and the last write);
//   - VM create + load + run + destroy of `hello` inside one process;
//   - process start to verdict for `cr3rig run builtin:hello` (fork + exec + VM set-up
//     + guest + teardown), as a wall-clock time and as a multiple of one round trip;
//   - the cost of one trapped CR3 access (cr3-switch with and without the trap
//     engine), as a ratio to the round trip; start to verdict for the buggy kernel
//     under --inject after-read;
//   - the lazytlb seed scenario's run time, fixed and selfpreempt (the latter pays
//     for B's fault storm until RT throttling ends it);
//   - a campaign on lazytlb-buggy: schedules per second from the snapshot and with a
//     fresh VM per schedule (ratio), restore latency, and the time to the first finding;
//   - process start to exit of the multiboot test binary mb-pass under cr3rig and under
//     QEMU -accel kvm, side by side (skipped, with the reason, when QEMU cannot run);
//   - one gdb hardware-breakpoint hit on a CR3 site through QEMU's gdb stub against one
//     access trapped by the rig, the same guest code (peer_gdbstub.hpp; skipped likewise);
//   - a trapped access against the number of CR3 sites, and stress testing the buggy
//     kernels against the rig's first finding (trap_figures.hpp).
// Usage: cr3rig-bench [--quick] [--json FILE]
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/floor_figures.hpp"
#include "bench/process_figures.hpp"
#include "bench/suite_figures.hpp"
#include "bench/trap_figures.hpp"
#include "campaign/campaign_runner.hpp"
#include "common/errors.hpp"
#include "common/verdict.hpp"
#include "harness/bench_port.hpp"
#include "harness/peer_gdbstub.hpp"
#include "harness/qemu.hpp"
#include "harness/run_command.hpp"
#include "harness/stats.hpp"
#include "traps/trapped_run.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/embedded_guests.hpp"
#include "vmm/kvm.hpp"
#include "vmm/runner.hpp"

using namespace cr3rig;
using Clock = std::chrono::steady_clock;

namespace {

ElfImage builtin(const char* name)
{
    const EmbeddedGuest* g = find_embedded_guest(name);
    if (!g)
        throw BadInput(std::string("guest ") + name + " is not built in");
    return ElfImage::parse({g->image.begin(), g->image.end()});
}

// ns per port-I/O exit round trip, one sample per pingpong run.
std::vector<double> roundtrip_samples(int runs)
{
    ElfImage pingpong = builtin("pingpong");
    std::vector<double> samples;
    for (int i = 0; i < runs; i++) {
        testing::BenchPort bench;
        RunOptions options;
        options.extra_devices = {&bench};
        RunResult r = run_guest(pingpong, options);
        if (!r.verdict.passed() || bench.hits() < 2)
            throw std::runtime_error("pingpong guest did not pass: " + r.verdict.reason);
        samples.push_back(bench.roundtrip_ns());
    }
    return samples;
}

// ms for run_guest(hello) inside this process: VM create, load, run, destroy.
std::vector<double> inprocess_samples(int runs)
{
    ElfImage hello = builtin("hello");
    std::vector<double> samples;
    for (int i = 0; i < runs; i++) {
        auto start = Clock::now();
        RunResult r = run_guest(hello, RunOptions{});
        auto elapsed = Clock::now() - start;
        if (r.verdict.kind != VerdictKind::Pass)
            throw std::runtime_error("hello guest did not pass: " + r.verdict.reason);
        samples.push_back(std::chrono::duration<double, std::milli>(elapsed).count());
    }
    return samples;
}

// ms of guest run time for a lazytlb kernel's whole scenario.
std::vector<double> scenario_samples(const char* guest, int runs, VerdictKind expected)
{
    ElfImage kernel = builtin(guest);
    std::vector<double> samples;
    for (int i = 0; i < runs; i++) {
        RunOptions options;
        options.timeout = std::chrono::seconds(60);
        RunResult r = run_guest(kernel, options);
        // On host time a loaded machine can preempt the exiting task before it reaches
        // its window, and selfpreempt then passes: that run measures something else,
        // so it is run again (a few times at most: a guest that never gets there is broken).
        for (int retry = 0; r.verdict.kind != expected && retry < 5; retry++)
            r = run_guest(kernel, options);
        if (r.verdict.kind != expected)
            throw std::runtime_error(std::string(guest) + " ended " + std::string(name_of(r.verdict.kind)) + ": " + r.verdict.reason);
        samples.push_back(std::chrono::duration<double, std::milli>(r.run_time).count());
    }
    return samples;
}

// ns per trapped CR3 access: the cr3-switch guest (401 reads + 401 writes on two
// hardware-breakpoint sites) with the trap engine, minus the same guest without it.
std::vector<double> trap_cost_samples(int runs)
{
    ElfImage guest = builtin("cr3-switch");
    std::vector<double> samples;
    for (int i = 0; i < runs; i++) {
        RunResult plain = run_guest(guest, RunOptions{});
        TrappedResult result = TrappedRun(guest, TrapOptions{}).run(RunOptions{});
        const RunResult& trapped = result.run;
        uint64_t accesses = result.stats.reads + result.stats.writes;
        if (!plain.verdict.passed() || !trapped.verdict.passed() || accesses == 0)
            throw std::runtime_error("cr3-switch did not pass under the trap engine: " + trapped.verdict.reason);
        samples.push_back(std::chrono::duration<double, std::nano>(trapped.run_time - plain.run_time).count() /
                          static_cast<double>(accesses));
    }
    return samples;
}

// A campaign on lazytlb-buggy in this process, the same schedules twice: each from
// the snapshot at the first CR3 read, and each in a fresh VM. Schedules per second
// both ways, restore latency, and the time from the start (boot to the snapshot and
// the reference run included) to the first schedule with a finding.
struct CampaignFigures {
    double snapshot_per_s, fresh_per_s;
    double first_finding_ms;
    std::vector<double> restore_us;
    std::vector<double> pages_restored;
    std::vector<double> tail_ms;  // each schedule's run from the snapshot to its verdict
    size_t schedules;
};

CampaignFigures campaign_figures(size_t max_schedules)
{
    ElfImage guest = builtin("lazytlb-buggy");
    CampaignOptions options;
    CampaignFigures f{};
    auto start = Clock::now();
    SnapshotCampaign campaign(guest, options);
    auto schedules = enumerate_schedules(campaign.measure_windows());
    if (schedules.size() > max_schedules)
        schedules.resize(max_schedules);
    f.schedules = schedules.size();
    f.first_finding_ms = -1;
    auto runs_start = Clock::now();
    for (size_t i = 0; i < schedules.size(); i++) {
        ScheduleResult r = campaign.run(schedules[i], i);
        f.restore_us.push_back(std::chrono::duration<double, std::micro>(campaign.last_restore_time()).count());
        f.pages_restored.push_back(static_cast<double>(campaign.last_pages_restored()));
        f.tail_ms.push_back(r.ms);
        if (f.first_finding_ms < 0 && r.signature != "clean")
            f.first_finding_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    }
    f.snapshot_per_s = static_cast<double>(schedules.size()) /
                       std::chrono::duration<double>(Clock::now() - runs_start).count();
    auto fresh_start = Clock::now();
    for (size_t i = 0; i < schedules.size(); i++)
        run_schedule(guest, schedules[i], options, i);
    f.fresh_per_s = static_cast<double>(schedules.size()) /
                    std::chrono::duration<double>(Clock::now() - fresh_start).count();
    return f;
}

// ms from fork() to the exit status of one run of argv (argv[0] looked up on PATH),
// stdout and stderr discarded; `ok` judges the exit status.
double process_ms(const std::vector<std::string>& args, const std::function<bool(int)>& ok)
{
    auto start = Clock::now();
    pid_t pid = testing::spawn_silenced(args);
    int status = 0;
    waitpid(pid, &status, 0);
    auto elapsed = Clock::now() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 127 || !ok(WEXITSTATUS(status)))
        throw std::runtime_error(args.front() + " " + args.back() + " did not end as expected (status " +
                                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
    return std::chrono::duration<double, std::milli>(elapsed).count();
}

std::vector<std::string> cr3rig_argv(const std::vector<const char*>& args)
{
    std::vector<std::string> argv{CR3RIG_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

bool reached_verdict(int status) { return status < kExitUsage; }

// ms from fork() to the exit status of `cr3rig ARGS...`, one sample per run.
std::vector<double> startup_samples(int runs, const std::vector<const char*>& args)
{
    std::vector<double> samples;
    for (int i = 0; i < runs; i++)
        samples.push_back(process_ms(cr3rig_argv(args), reached_verdict));
    return samples;
}

// Process start to exit for the multiboot test binary mb-pass, the same image file
// under cr3rig and under QEMU (harness/qemu.hpp), alternating so both see the
// same host load. Both must pass: exit 0, and QEMU's debug-exit status 1.
struct PeerSamples {
    std::vector<double> rig_ms, qemu_ms;
    std::string skipped;  // why QEMU was not run, if it was not
};

PeerSamples qemu_peer_samples(int runs)
{
    const std::string image = CR3RIG_GUEST_DIR "/mb-pass.elf";
    PeerSamples p;
    if (auto why = testing::qemu_unusable_reason())
        p.skipped = *why;
    for (int i = 0; i < runs; i++) {
        p.rig_ms.push_back(process_ms(cr3rig_argv({"run", "builtin:mb-pass"}), [](int s) { return s == kExitPass; }));
        if (p.skipped.empty())
            p.qemu_ms.push_back(process_ms(testing::qemu_argv(image), [](int s) { return s == 1; }));
    }
    return p;
}

nlohmann::json to_json(const bench::Summary& s) { return {{"min", s.min}, {"median", s.median}, {"max", s.max}}; }

}  // namespace

int main(int argc, char** argv)
{
    bool quick = false;
    std::string json_path;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--quick"))
            quick = true;
        else if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
            json_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: cr3rig-bench [--quick] [--json FILE]\n");
            return kExitUsage;
        }
    }
    if (auto why = kvm_unusable_reason()) {
        std::fprintf(stderr, "cr3rig-bench: SKIP: no usable KVM: %s\n", why->c_str());
        return kExitSkip;
    }

    const int runs = quick ? 3 : 11;
    auto roundtrip_ns = bench::summarize(roundtrip_samples(runs));
    auto inprocess_ms = bench::summarize(inprocess_samples(runs));
    auto startup_ms = bench::summarize(startup_samples(runs, {"run", "builtin:hello"}));
    auto trap_ns = bench::summarize(trap_cost_samples(runs));
    auto buggy_verdict_ms =
        bench::summarize(startup_samples(runs, {"run", "-q", "--inject", "after-read", "builtin:lazytlb-buggy"}));
    // The price of the same verdict every time: the rig clock (the default) against the
    // guest's own timer on host time, for the same command.
    auto buggy_host_time_ms = bench::summarize(
        startup_samples(runs, {"run", "-q", "--inject", "after-read", "--host-time", "builtin:lazytlb-buggy"}));
    double startup_in_roundtrips = startup_ms.median * 1e6 / roundtrip_ns.median;
    auto fixed_ms = bench::summarize(scenario_samples("lazytlb-fixed", runs, VerdictKind::Pass));
    CampaignFigures campaign = campaign_figures(quick ? 4 : 1000);
    auto selfpreempt_ms = bench::summarize(scenario_samples("lazytlb-selfpreempt", runs, VerdictKind::Fail));
    PeerSamples peer = qemu_peer_samples(runs);
    auto mb_rig_ms = bench::summarize(peer.rig_ms);
    auto mb_qemu_ms = bench::summarize(peer.qemu_ms);
    auto gdbstub = bench::gdbstub_peer_samples(runs, bench::kBenchGdbStubHits, CR3RIG_GUEST_DIR,
                                               [] { return trap_cost_samples(1).front(); });
    auto registers = bench::register_read_samples(runs);
    auto get_regs_ns = bench::summarize(registers.get_regs_ns);
    auto synced_ns = bench::summarize(registers.synced_read_ns);
    auto sync_exit_ns = bench::summarize(registers.sync_per_exit_ns);
    auto create_ms = bench::summarize(bench::vm_create_destroy_samples(runs));
    auto injection_ns = bench::summarize(bench::injection_samples(runs));
    auto completion = bench::completion_samples(runs);
    auto processes = bench::process_samples(quick ? 1 : 3, quick ? 4 : 18);
    auto run_rss = bench::summarize(processes.run_peak_rss_mib);
    auto campaign_rss = bench::summarize(processes.campaign_peak_rss_mib);
    auto jobs1_s = bench::summarize(processes.campaign_jobs1_s);
    auto jobs2_s = bench::summarize(processes.campaign_jobs2_s);
    bench::SuiteFigures kut = bench::kut_suite_figures(3, quick);
    auto by_sites = bench::site_cost_figures(runs);
    auto stress = bench::stress_figures(quick ? 20 : 100, runs);
    auto inline_campaign = bench::inline_campaign_figures(quick);

    std::printf("cr3rig-bench (%d runs each, min / median / max)\n", runs);
    std::printf("  KVM_RUN round trip, port-I/O exit   %8.2f / %8.2f / %8.2f us\n", roundtrip_ns.min / 1e3,
                roundtrip_ns.median / 1e3, roundtrip_ns.max / 1e3);
    std::printf("  hello in-process: VM create..destroy %8.2f / %8.2f / %8.2f ms\n", inprocess_ms.min,
                inprocess_ms.median, inprocess_ms.max);
    std::printf("  start to verdict, run builtin:hello %8.2f / %8.2f / %8.2f ms\n", startup_ms.min,
                startup_ms.median, startup_ms.max);
    std::printf("  ratio: start-to-verdict / round trip = %.0f (medians)\n", startup_in_roundtrips);
    std::printf("  trapped CR3 access (cr3-switch)     %8.2f / %8.2f / %8.2f us\n", trap_ns.min / 1e3,
                trap_ns.median / 1e3, trap_ns.max / 1e3);
    std::printf("  ratio: trapped access / round trip = %.2f (medians; goal <= 3)\n",
                trap_ns.median / roundtrip_ns.median);
    std::printf("  start to verdict, --inject after-read lazytlb-buggy %8.1f / %8.1f / %8.1f ms\n",
                buggy_verdict_ms.min, buggy_verdict_ms.median, buggy_verdict_ms.max);
    std::printf("  the same on host time (--host-time) %8.1f / %8.1f / %8.1f ms\n", buggy_host_time_ms.min,
                buggy_host_time_ms.median, buggy_host_time_ms.max);
    std::printf("  ratio: rig clock / host time = %.2f (medians; the cost of deterministic verdicts)\n",
                buggy_verdict_ms.median / buggy_host_time_ms.median);
    std::printf("  seed scenario, lazytlb-fixed        %8.1f / %8.1f / %8.1f ms\n", fixed_ms.min, fixed_ms.median,
                fixed_ms.max);
    std::printf("  seed scenario, lazytlb-selfpreempt  %8.1f / %8.1f / %8.1f ms\n", selfpreempt_ms.min,
                selfpreempt_ms.median, selfpreempt_ms.max);
    std::printf("  ratio: selfpreempt / fixed = %.2f (medians; the fault storm's cost)\n",
                selfpreempt_ms.median / fixed_ms.median);
    auto restore_us = bench::summarize(campaign.restore_us);
    auto pages = bench::summarize(campaign.pages_restored);
    std::printf("  campaign lazytlb-buggy (%zu schedules, one process): snapshot %.1f / fresh VM %.1f schedules/s, "
                "ratio %.2f\n",
                campaign.schedules, campaign.snapshot_per_s, campaign.fresh_per_s,
                campaign.snapshot_per_s / campaign.fresh_per_s);
    std::printf("  snapshot restore                    %8.0f / %8.0f / %8.0f us (%.0f / %.0f / %.0f dirty pages)\n",
                restore_us.min, restore_us.median, restore_us.max, pages.min, pages.median, pages.max);
    std::printf("  campaign: start to first finding    %8.0f ms\n", campaign.first_finding_ms);
    // What a snapshot can save is the boot up to the first CR3 read; each schedule's run
    // from there to its verdict (the guest's own work) is paid either way.
    auto tail_ms = bench::summarize(campaign.tail_ms);
    double tail_mean = 0;
    for (double t : campaign.tail_ms)
        tail_mean += t / static_cast<double>(campaign.tail_ms.size());
    double fresh_ms = 1000.0 / campaign.fresh_per_s;
    std::printf("  schedule run, snapshot to verdict   %8.1f / %8.1f / %8.1f ms (mean %.1f); fresh VM schedule %.1f ms:\n"
                "  ratio bound with free restores = %.2f (fresh / mean run from the snapshot)\n",
                tail_ms.min, tail_ms.median, tail_ms.max, tail_mean, fresh_ms, fresh_ms / tail_mean);
    std::printf("  start to exit, run builtin:mb-pass  %8.2f / %8.2f / %8.2f ms\n", mb_rig_ms.min, mb_rig_ms.median,
                mb_rig_ms.max);
    if (peer.skipped.empty()) {
        std::printf("  the same image under QEMU -accel kvm %8.1f / %8.1f / %8.1f ms\n", mb_qemu_ms.min,
                    mb_qemu_ms.median, mb_qemu_ms.max);
        std::printf("  ratio: QEMU / cr3rig = %.0f (medians; goal >= 20)\n", mb_qemu_ms.median / mb_rig_ms.median);
    } else {
        std::printf("  QEMU comparison skipped: %s\n", peer.skipped.c_str());
    }
    bench::print_gdbstub_figures(gdbstub);
    std::printf("  register read after an exit: KVM_GET_REGS %8.0f / %8.0f / %8.0f ns, synced copy %.1f / %.1f / %.1f "
                "ns;\n  sync regs cost per exit %8.0f / %8.0f / %8.0f ns\n",
                get_regs_ns.min, get_regs_ns.median, get_regs_ns.max, synced_ns.min, synced_ns.median, synced_ns.max,
                sync_exit_ns.min, sync_exit_ns.median, sync_exit_ns.max);
    std::printf("  VM create + destroy (hello loaded, not run) %8.2f / %8.2f / %8.2f ms\n", create_ms.min,
                create_ms.median, create_ms.max);
    std::printf("  forced preemption (read exit, the read performed, MSI) %8.1f / %8.1f / %8.1f us; ratio to round trip %.2f\n",
                injection_ns.min / 1e3, injection_ns.median / 1e3, injection_ns.max / 1e3,
                injection_ns.median / roundtrip_ns.median);
    if (completion.skipped)
        std::printf("  completed instruction: not measured (the CPU has no XSAVE)\n");
    else {
        auto completion_ns = bench::summarize(completion.per_instruction_ns);
        std::printf("  xgetbv at CPL0 (%llu of %d completed by cr3rig) %8.2f / %8.2f / %8.2f us; ratio to round trip "
                    "%.2f\n",
                    static_cast<unsigned long long>(completion.completions_per_run), bench::kCompleteLoopRounds, completion_ns.min / 1e3,
                    completion_ns.median / 1e3, completion_ns.max / 1e3, completion_ns.median / roundtrip_ns.median);
    }
    std::printf("  peak RSS: run %.1f MiB, campaign %.1f MiB (medians), guest RAM %.0f MiB: %.2f / %.2f of it\n",
                run_rss.median, campaign_rss.median, processes.guest_ram_mib, run_rss.median / processes.guest_ram_mib,
                campaign_rss.median / processes.guest_ram_mib);
    std::printf("  campaign lazytlb-buggy -j 1 %.2f s, -j 2 %.2f s (medians): scaling %.2f on %ld cores\n",
                jobs1_s.median, jobs2_s.median, jobs1_s.median / jobs2_s.median, sysconf(_SC_NPROCESSORS_ONLN));

    // The goals of the issue, each said met or not from this run's own numbers.
    auto verdict = [](bool met) { return met ? "met" : "NOT met"; };
    std::printf("goals\n");
    std::printf("  trapped access <= 3x the round trip: %.2f, %s\n", trap_ns.median / roundtrip_ns.median,
                verdict(trap_ns.median <= 3 * roundtrip_ns.median));
    if (peer.skipped.empty())
        std::printf("  trivial multiboot test start to exit <= 1/20 of QEMU's: 1/%.0f, %s\n",
                    mb_qemu_ms.median / mb_rig_ms.median, verdict(mb_qemu_ms.median >= 20 * mb_rig_ms.median));
    else
        std::printf("  trivial multiboot test vs QEMU: not measured (%s)\n", peer.skipped.c_str());
    std::printf("  campaign from snapshots >= 10x fresh VMs: %.2fx, %s (bound for this guest: %.2fx)\n",
                campaign.snapshot_per_s / campaign.fresh_per_s,
                verdict(campaign.snapshot_per_s >= 10 * campaign.fresh_per_s), fresh_ms / tail_mean);
    if (gdbstub.skipped.empty())
        std::printf("  gdb-stub time per trapped access as a multiple of the rig's: %.0fx, measured\n",
                    bench::summarize(gdbstub.gdb_ns).median / bench::summarize(gdbstub.rig_ns).median);
    else
        std::printf("  gdb-stub comparison: not measured (%s)\n", gdbstub.skipped.c_str());
    bench::print_suite_figures(kut);
    bench::print_site_cost_figures(by_sites, roundtrip_ns.median);
    bench::print_stress_figures(stress);
    bench::print_inline_campaign_figures(inline_campaign);

    if (!json_path.empty()) {
        nlohmann::json j = {{"runs", runs},
                            {"kvm_run_roundtrip_ns", to_json(roundtrip_ns)},
                            {"hello_in_process_ms", to_json(inprocess_ms)},
                            {"start_to_verdict_hello_ms", to_json(startup_ms)},
                            {"start_to_verdict_over_roundtrip", startup_in_roundtrips},
                            {"trapped_access_ns", to_json(trap_ns)},
                            {"trapped_access_over_roundtrip", trap_ns.median / roundtrip_ns.median},
                            {"start_to_verdict_buggy_after_read_ms", to_json(buggy_verdict_ms)},
                            {"start_to_verdict_buggy_after_read_host_time_ms", to_json(buggy_host_time_ms)},
                            {"rig_clock_over_host_time", buggy_verdict_ms.median / buggy_host_time_ms.median},
                            {"scenario_fixed_ms", to_json(fixed_ms)},
                            {"scenario_selfpreempt_ms", to_json(selfpreempt_ms)},
                            {"campaign_buggy_schedules", campaign.schedules},
                            {"campaign_snapshot_schedules_per_s", campaign.snapshot_per_s},
                            {"campaign_fresh_schedules_per_s", campaign.fresh_per_s},
                            {"campaign_snapshot_over_fresh", campaign.snapshot_per_s / campaign.fresh_per_s},
                            {"snapshot_restore_us", to_json(restore_us)},
                            {"snapshot_pages_restored", to_json(pages)},
                            {"schedule_run_from_snapshot_ms", to_json(tail_ms)},
                            {"snapshot_ratio_bound", fresh_ms / tail_mean},
                            {"campaign_buggy_first_finding_ms", campaign.first_finding_ms},
                            {"start_to_exit_mb_pass_ms", to_json(mb_rig_ms)}};
        if (peer.skipped.empty()) {
            j["qemu_start_to_exit_mb_pass_ms"] = to_json(mb_qemu_ms);
            j["qemu_over_cr3rig_mb_pass"] = mb_qemu_ms.median / mb_rig_ms.median;
        } else {
            j["qemu_skipped"] = peer.skipped;
        }
        bench::add_gdbstub_json(j, gdbstub);
        bench::add_suite_json(j, kut);
        bench::add_site_cost_json(j, by_sites, roundtrip_ns.median);
        bench::add_stress_json(j, stress);
        bench::add_inline_campaign_json(j, inline_campaign);
        j["get_regs_ns"] = to_json(get_regs_ns);
        j["synced_regs_read_ns"] = to_json(synced_ns);
        j["sync_regs_cost_per_exit_ns"] = to_json(sync_exit_ns);
        j["vm_create_destroy_ms"] = to_json(create_ms);
        j["forced_preemption_ns"] = to_json(injection_ns);
        j["forced_preemption_over_roundtrip"] = injection_ns.median / roundtrip_ns.median;
        j["peak_rss_run_mib"] = to_json(run_rss);
        j["peak_rss_campaign_mib"] = to_json(campaign_rss);
        j["guest_ram_mib"] = processes.guest_ram_mib;
        j["campaign_jobs1_s"] = to_json(jobs1_s);
        j["campaign_jobs2_s"] = to_json(jobs2_s);
        j["campaign_jobs2_scaling"] = jobs1_s.median / jobs2_s.median;
        std::ofstream(json_path) << j.dump(2) << "\n";
    }
    return 0;
}
