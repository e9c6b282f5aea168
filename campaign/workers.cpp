#include "campaign/workers.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

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

// Forks worker `j` of `jobs`: it takes every jobs-th of this shard's schedules.
Worker start_worker(const ElfImage& image, const CampaignPlan& plan, const CampaignSettings& settings, unsigned j)
{
    std::vector<size_t> mine;
    for (size_t p = j; p < plan.indices.size(); p += settings.jobs)
        mine.push_back(plan.indices[p]);
    int pipefd[2];
    if (::pipe(pipefd) != 0)
        throw std::runtime_error("pipe failed");
    pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
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

// Reads the workers' pipes until every one is closed: their results, in the order
// they arrive, with the progress after each.
std::vector<ScheduleResult> collect_results(const std::vector<Worker>& workers, size_t total_roots,
                                            const ProgressFn& progress)
{
    std::vector<pollfd> fds;
    for (const auto& w : workers)
        fds.push_back({w.fd, POLLIN, 0});
    std::vector<std::string> partial(workers.size());
    std::vector<ScheduleResult> results;
    CampaignProgress state;
    state.total_roots = total_roots;
    for (size_t open = fds.size(); open > 0;) {
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
                const ScheduleResult& r = results.back();
                state.runs = results.size();
                state.with_findings += r.signature != "clean";
                state.new_root = r.sub == 0;
                state.roots += state.new_root;
                progress(state);
            }
        }
    }
    state.finished = true;
    progress(state);
    return results;
}

void wait_for(const std::vector<Worker>& workers)
{
    for (const auto& w : workers) {
        int status = 0;
        ::waitpid(w.pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("a campaign worker failed");
    }
}

}  // namespace

CampaignRun run_campaign(const ElfImage& image, const CampaignPlan& plan, const CampaignSettings& settings,
                         const ProgressFn& progress)
{
    std::vector<Worker> workers;
    std::fflush(nullptr);  // or the workers would write out what is buffered again
    for (unsigned j = 0; j < settings.jobs; j++)
        workers.push_back(start_worker(image, plan, settings, j));
    CampaignRun run;
    run.results = collect_results(workers, plan.indices.size(), progress);
    wait_for(workers);
    std::sort(run.results.begin(), run.results.end(), campaign_order);
    run.seconds = std::chrono::duration<double>(CampaignClock::now() - plan.start).count();
    run.roots = std::count_if(run.results.begin(), run.results.end(),
                              [](const ScheduleResult& r) { return r.sub == 0; });
    run.stopped_by_time =
        run.roots < plan.indices.size() || (settings.time_s > 0 && run.seconds >= settings.time_s);
    return run;
}

}  // namespace cr3rig
