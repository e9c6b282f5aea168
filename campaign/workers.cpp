#include "campaign/workers.hpp"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/stop_signals.hpp"
#include "common/verdict.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig {

namespace {

void write_line(int fd, const std::string& line)
{
    for (size_t off = 0; off < line.size();) {
        ssize_t n = ::write(fd, line.data() + off, line.size() - off);
        if (n <= 0)
            throw std::runtime_error("the campaign's result pipe closed");
        off += static_cast<size_t>(n);
    }
}

// In a worker: runs `indices` of the plan's schedules (and, with more than one
// preemption, their extensions), writing one JSON line per result to fd.
void work(const ElfImage& image, const CampaignPlan& plan, const std::vector<size_t>& indices,
          const CampaignSettings& settings, int fd)
{
    std::unique_ptr<SnapshotCampaign> snapshot;
    if (!settings.fresh && !indices.empty())
        snapshot = std::make_unique<SnapshotCampaign>(image, settings.options);
    for (size_t i : indices) {
        if (CampaignClock::now() >= plan.deadline)
            break;
        auto run = [&](const Schedule& schedule, size_t sub) {
            return snapshot ? snapshot->run(schedule, i, sub) : run_schedule(image, schedule, settings.options, i, sub);
        };
        explore(plan.schedules[i], settings.options.max_preemptions, run, [&](const ScheduleResult& r) {
            write_line(fd, r.to_json_line() + "\n");
            return CampaignClock::now() < plan.deadline;
        });
    }
}

struct Worker {
    pid_t pid;
    int fd;  // the read end of its result pipe
};

// In a new worker, before anything else: a signal ends it (StopSignals), and so does
// the end of the parent, however the parent ends.
void become_worker(pid_t parent)
{
    StopSignals::reset_in_child();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)  // the parent ended before prctl()
        ::_exit(exit_code_of(VerdictKind::Crash));
}

// Forks worker `j` of `jobs`: it takes every jobs-th of this shard's schedules.
Worker start_worker(const ElfImage& image, const CampaignPlan& plan, const CampaignSettings& settings, unsigned j)
{
    std::vector<size_t> mine;
    for (size_t p = j; p < plan.indices.size(); p += settings.jobs)
        mine.push_back(plan.indices[p]);
    int pipefd[2];
    if (::pipe(pipefd) != 0)
        throw std::runtime_error("pipe failed");
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        become_worker(parent);
        ::close(pipefd[0]);
        try {
            work(image, plan, mine, settings, pipefd[1]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cr3rig: campaign worker: %s\n", e.what());
            ::_exit(exit_code_of(VerdictKind::Crash));
        }
        ::_exit(0);
    }
    ::close(pipefd[1]);
    return {pid, pipefd[0]};
}

// Gathers the workers' JSON lines into results, with the progress after each.
class ResultCollector {
public:
    ResultCollector(size_t workers, size_t total_roots, const ProgressFn& progress, const ResultFn& on_result)
        : partial_(workers), progress_(progress), on_result_(on_result)
    {
        state_.total_roots = total_roots;
    }

    void add(size_t worker, const char* data, size_t n)
    {
        std::string& partial = partial_[worker];
        partial.append(data, n);
        for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
            results_.push_back(ScheduleResult::from_json_line(partial.substr(0, nl)));
            partial.erase(0, nl + 1);
            const ScheduleResult& r = results_.back();
            if (on_result_)
                on_result_(r);
            state_.runs = results_.size();
            state_.with_findings += r.signature != "clean";
            state_.new_root = r.sub == 0;
            state_.roots += state_.new_root;
            progress_(state_);
        }
    }

    // A line a worker did not finish (it was stopped) is not a result.
    std::vector<ScheduleResult> finish()
    {
        state_.finished = true;
        progress_(state_);
        return std::move(results_);
    }

private:
    std::vector<std::string> partial_;
    std::vector<ScheduleResult> results_;
    CampaignProgress state_;
    const ProgressFn& progress_;
    const ResultFn& on_result_;
};

void kill_workers(const std::vector<Worker>& workers)
{
    for (const auto& w : workers)
        ::kill(w.pid, SIGKILL);
}

// Reads the workers' pipes until every one is closed, in the order the lines arrive.
// A stop signal kills the workers; what they wrote before stays in their pipes and
// is read to the end.
std::vector<ScheduleResult> collect_results(const std::vector<Worker>& workers, ResultCollector collector,
                                            const StopSignals& stop)
{
    std::vector<pollfd> fds;
    for (const auto& w : workers)
        fds.push_back({w.fd, POLLIN, 0});
    fds.push_back({stop.fd(), POLLIN, 0});  // last: not a worker's
    bool killed = false;
    for (size_t open = workers.size(); open > 0;) {
        ::poll(fds.data(), fds.size(), -1);  // EINTR: the signal's byte is on its pipe
        if (stop.signal() && !killed) {
            kill_workers(workers);
            killed = true;
            fds.back().fd = -1;
        }
        for (size_t j = 0; j < workers.size(); j++) {
            if (fds[j].fd < 0 || !(fds[j].revents & (POLLIN | POLLHUP)))
                continue;
            char buf[4096];
            ssize_t n = ::read(fds[j].fd, buf, sizeof buf);
            if (n > 0) {
                collector.add(j, buf, static_cast<size_t>(n));
                continue;
            }
            ::close(fds[j].fd);
            fds[j].fd = -1;
            open--;
        }
    }
    return collector.finish();
}

// After a stop signal, the workers it killed did not fail.
void wait_for(const std::vector<Worker>& workers, bool stopped)
{
    bool failed = false;
    for (const auto& w : workers) {
        int status = 0;
        ::waitpid(w.pid, &status, 0);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    if (failed && !stopped)
        throw std::runtime_error("a campaign worker failed");
}

}  // namespace

CampaignRun run_campaign(const ElfImage& image, const CampaignPlan& plan, const CampaignSettings& settings,
                         const ProgressFn& progress, const ResultFn& on_result)
{
    StopSignals stop;
    std::vector<Worker> workers;
    std::fflush(nullptr);  // or the workers would write out what is buffered again
    for (unsigned j = 0; j < settings.jobs; j++)
        workers.push_back(start_worker(image, plan, settings, j));
    CampaignRun run;
    ResultCollector collector(workers.size(), plan.indices.size(), progress, on_result);
    run.results = collect_results(workers, std::move(collector), stop);
    run.stopped_by_signal = stop.signal();
    wait_for(workers, run.stopped_by_signal != 0);
    std::sort(run.results.begin(), run.results.end(), campaign_order);
    run.seconds = std::chrono::duration<double>(CampaignClock::now() - plan.start).count();
    run.roots = std::count_if(run.results.begin(), run.results.end(),
                              [](const ScheduleResult& r) { return r.sub == 0; });
    run.stopped_by_time = !run.stopped_by_signal && (run.roots < plan.indices.size() ||
                                                     (settings.time_s > 0 && run.seconds >= settings.time_s));
    return run;
}

}  // namespace cr3rig
