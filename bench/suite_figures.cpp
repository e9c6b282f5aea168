#include "bench/suite_figures.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "common/verdict.hpp"
#include "harness/stats.hpp"
#include "harness/kut_data.hpp"
#include "harness/qemu.hpp"
#include "harness/run_command.hpp"
#include "suite/manifest.hpp"
#include "suite/shell_words.hpp"

namespace cr3rig::bench {

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;


// The command line kvm-unit-tests' x86/run gives QEMU for one entry (scripts/runtime.bash
// adds -smp, the entry's qemu_params and -append with its test_args).
std::vector<std::string> qemu_entry_argv(const suite::ManifestEntry& e, const fs::path& dir)
{
    std::vector<std::string> argv{testing::qemu_binary(), "--no-reboot", "-nodefaults", "-global",
                                  "kvm-pit.lost_tick_policy=discard", "-device", "pc-testdev", "-device",
                                  "isa-debug-exit,iobase=0xf4,iosize=0x4", "-display", "none", "-serial", "stdio",
                                  "-device", "pci-testdev", "-machine", "accel=kvm", "-kernel",
                                  (dir / e.file).string(), "-smp", e.smp};
    for (const auto& word : e.qemu_params)
        argv.push_back(word);
    if (!e.cmdline.empty())
        argv.insert(argv.end(), {"-append", e.cmdline});
    return argv;
}

// The guest's own run time (first KVM_RUN to verdict) from the verdict line of the
// entry's log, "cr3rig: IMAGE: PASS: ... [1770.3 ms]"; 0 when there is none.
double guest_run_ms(const fs::path& log)
{
    std::string text = testing::read_file(log.string());
    size_t close = text.rfind(" ms]");
    size_t open = close == std::string::npos ? close : text.rfind('[', close);
    return open == std::string::npos ? 0 : std::atof(text.c_str() + open + 1);
}

int exit_status(int wait_status) { return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1; }

// ms from fork() to exit; the exit status through `status`.
double timed_ms(const std::vector<std::string>& args, int& status)
{
    auto start = Clock::now();
    int ws = 0;
    waitpid(testing::spawn_silenced(args), &ws, 0);
    status = exit_status(ws);
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Seconds to run every command, at most two at a time (run_tests.sh -j 2).
double pool_seconds(const std::vector<std::vector<std::string>>& commands)
{
    auto start = Clock::now();
    std::deque<std::vector<std::string>> waiting(commands.begin(), commands.end());
    int running = 0;
    while (!waiting.empty() || running > 0) {
        while (running < 2 && !waiting.empty()) {
            testing::spawn_silenced(waiting.front());
            waiting.pop_front();
            running++;
        }
        int ws = 0;
        if (wait(&ws) > 0)
            running--;
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string result_name(int status)
{
    switch (status) {
    case kExitPass: return "PASS";
    case kExitFail: return "FAIL";
    case kExitSkip: return "SKIP";
    default: return "exit " + std::to_string(status);
    }
}

}  // namespace

SuiteFigures kut_suite_figures(int runs, bool quick)
{
    SuiteFigures f;
    fs::path dir = testing::kut_dir();
    f.manifest = (dir / "unittests.cfg").string();
    if (auto why = testing::kut_dir_missing()) {
        f.skipped = *why;
        return f;
    }
    if (auto why = testing::qemu_unusable_reason()) {
        f.skipped = *why;
        return f;
    }
    suite::Manifest manifest = suite::load_manifest(f.manifest);
    std::map<std::string, const suite::ManifestEntry*> by_name;
    for (const auto& e : manifest.entries)
        by_name[e.name] = &e;

    // A temporary folder for cr3rig test's logs, so no run overwrites another's.
    std::string logs_template = (fs::temp_directory_path() / "cr3rig-bench-kut-XXXXXX").string();
    if (!mkdtemp(logs_template.data()))
        throw std::runtime_error("cannot create a temporary folder for the suite's logs");
    fs::path logs = logs_template;

    std::vector<testing::BaselineEntry> baseline = testing::read_baseline(dir / "qemu-baseline.tsv");
    if (quick)  // the quickest under QEMU first: the short run keeps the code alive, not the figures
        std::stable_sort(baseline.begin(), baseline.end(),
                         [](const auto& a, const auto& b) { return a.seconds < b.seconds; });
    std::vector<const suite::ManifestEntry*> hosted;
    for (const auto& row : baseline) {
        if (row.result != "PASS")
            continue;
        const std::string& name = row.name;
        auto it = by_name.find(name);
        if (it == by_name.end())
            f.not_hosted.push_back(name + ": not in the manifest");
        else if (!it->second->skip_reason.empty() || !it->second->unhostable.empty())
            f.not_hosted.push_back(name + ": " + it->second->skip_reason + it->second->unhostable);
        else
            hosted.push_back(it->second);
    }
    if (quick && hosted.size() > 3)
        hosted.resize(3);

    std::vector<std::string> rig_suite{CR3RIG_BINARY, "test", f.manifest, "-j", "2", "--logs", (logs / "suite").string()};
    std::vector<std::vector<std::string>> qemu_commands;
    for (const auto* e : hosted) {
        SuiteEntryFigures ef{e->name, {}, {}, {}, "", ""};
        std::vector<std::string> rig{CR3RIG_BINARY, "test", f.manifest, "--only", e->name, "--logs",
                                     (logs / e->name).string()};
        std::vector<std::string> qemu = qemu_entry_argv(*e, manifest.directory());
        for (int i = 0; i < (quick ? 1 : runs); i++) {
            int status = 0;
            ef.rig_ms.push_back(timed_ms(rig, status));
            ef.rig_result = result_name(status);
            ef.guest_ms.push_back(guest_run_ms(logs / e->name / "latest" / (e->name + ".log")));
            ef.qemu_ms.push_back(timed_ms(qemu, status));
            ef.qemu_result = status == 1 ? "PASS" : "status " + std::to_string(status);  // (0 << 1) | 1
        }
        rig_suite.insert(rig_suite.end(), {"--only", e->name});
        qemu_commands.push_back(qemu);
        f.entries.push_back(std::move(ef));
    }
    f.rig_suite_s = pool_seconds({rig_suite});
    f.qemu_suite_s = pool_seconds(qemu_commands);
    fs::remove_all(logs);
    return f;
}

namespace {

// Per entry, QEMU's median over cr3rig's; the smallest and the median over the entries.
Summary per_test_ratios(const SuiteFigures& f)
{
    std::vector<double> ratios;
    for (const auto& e : f.entries)
        ratios.push_back(summarize(e.qemu_ms).median / summarize(e.rig_ms).median);
    return summarize(ratios);
}

// What each VMM adds around the guest's own run: cr3rig's process time less its guest
// run time, QEMU's less the same guest run time (an estimate: the guest's work is
// KVM's on both, and vmexit's loops run for a fixed TSC time, 2^30 cycles a pass).
double host_ms(const SuiteEntryFigures& e, double process_ms) { return process_ms - summarize(e.guest_ms).median; }

Summary overhead_ratios(const SuiteFigures& f)
{
    std::vector<double> ratios;
    for (const auto& e : f.entries)
        ratios.push_back(host_ms(e, summarize(e.qemu_ms).median) / host_ms(e, summarize(e.rig_ms).median));
    return summarize(ratios);
}

}  // namespace

void print_suite_figures(const SuiteFigures& f)
{
    std::printf("kvm-unit-tests, the entries QEMU passes here (%s)\n", f.manifest.c_str());
    if (!f.skipped.empty()) {
        std::printf("  not measured: %s\n", f.skipped.c_str());
        return;
    }
    std::printf("  %-26s %-6s %-6s %10s %10s %7s %10s %16s\n", "entry", "cr3rig", "QEMU", "cr3rig ms", "QEMU ms",
                "ratio", "guest ms", "outside: ratio");
    for (const auto& e : f.entries) {
        double rig = summarize(e.rig_ms).median, qemu = summarize(e.qemu_ms).median;
        std::printf("  %-26s %-6s %-6s %10.1f %10.1f %7.1f %10.1f %16.1f\n", e.name.c_str(), e.rig_result.c_str(),
                    e.qemu_result.c_str(), rig, qemu, qemu / rig, summarize(e.guest_ms).median,
                    host_ms(e, qemu) / host_ms(e, rig));
    }
    for (const auto& n : f.not_hosted)
        std::printf("  not hosted: %s\n", n.c_str());
    if (f.entries.empty())
        return;
    Summary per_test = per_test_ratios(f);
    std::printf("  per-test start to verdict, QEMU / cr3rig: smallest %.1f, median %.1f (goal >= 10: %s)\n",
                per_test.min, per_test.median, per_test.min >= 10 ? "met" : "NOT met");
    Summary outside = overhead_ratios(f);
    std::printf("  outside the guest's own run time (guest ms, as cr3rig measures it): smallest %.1f, median %.1f\n",
                outside.min, outside.median);
    std::printf("  the %zu entries as a suite, -j 2: cr3rig %.1f s, QEMU %.1f s, ratio %.1f\n", f.entries.size(),
                f.rig_suite_s, f.qemu_suite_s, f.qemu_suite_s / f.rig_suite_s);
}

void add_suite_json(nlohmann::json& j, const SuiteFigures& f)
{
    if (!f.skipped.empty()) {
        j["kut_skipped"] = f.skipped;
        return;
    }
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : f.entries)
        entries.push_back({{"name", e.name}, {"cr3rig", e.rig_result}, {"qemu", e.qemu_result},
                           {"cr3rig_ms", summarize(e.rig_ms).median}, {"qemu_ms", summarize(e.qemu_ms).median},
                           {"guest_run_ms", summarize(e.guest_ms).median}});
    j["kut_entries"] = entries;
    j["kut_not_hosted"] = f.not_hosted;
    if (f.entries.empty())
        return;
    Summary per_test = per_test_ratios(f);
    j["kut_per_test_qemu_over_cr3rig_min"] = per_test.min;
    j["kut_per_test_qemu_over_cr3rig_median"] = per_test.median;
    j["kut_outside_guest_qemu_over_cr3rig_min"] = overhead_ratios(f).min;
    j["kut_outside_guest_qemu_over_cr3rig_median"] = overhead_ratios(f).median;
    j["kut_suite_cr3rig_s"] = f.rig_suite_s;
    j["kut_suite_qemu_s"] = f.qemu_suite_s;
    j["kut_suite_qemu_over_cr3rig"] = f.qemu_suite_s / f.rig_suite_s;
}

}  // namespace cr3rig::bench
