#include "bench/process_figures.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace cr3rig::bench {

namespace {

struct ChildResult {
    double seconds;
    double peak_rss_mib;
    int exit_code;
};

// Runs `cr3rig ARGS...` with its output discarded; wall time, peak RSS (wait4's
// ru_maxrss, of this child alone: its own workers are reaped by it, not counted)
// and exit code.
ChildResult run_cr3rig(std::vector<std::string> args)
{
    args.insert(args.begin(), CR3RIG_BINARY);
    auto start = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 1);
        dup2(devnull, 2);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code >= 2)
        throw std::runtime_error("cr3rig " + args[1] + " " + args[2] + " ended with " + std::to_string(code));
    return {seconds, static_cast<double>(usage.ru_maxrss) / 1024.0, code};
}

}  // namespace

ProcessSamples process_samples(int runs, int max_schedules)
{
    ProcessSamples s;
    std::string max = std::to_string(max_schedules);
    for (int i = 0; i < runs; i++) {
        s.run_peak_rss_mib.push_back(run_cr3rig({"run", "builtin:lazytlb-fixed", "-q"}).peak_rss_mib);
        s.campaign_peak_rss_mib.push_back(
            run_cr3rig({"campaign", "builtin:lazytlb-fixed", "--max", max, "-j", "1"}).peak_rss_mib);
        s.campaign_jobs1_s.push_back(run_cr3rig({"campaign", "builtin:lazytlb-buggy", "--max", max, "-j", "1"}).seconds);
        s.campaign_jobs2_s.push_back(run_cr3rig({"campaign", "builtin:lazytlb-buggy", "--max", max, "-j", "2"}).seconds);
    }
    return s;
}

}  // namespace cr3rig::bench
