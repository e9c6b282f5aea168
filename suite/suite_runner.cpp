#include "suite/suite_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "common/errors.hpp"
#include "common/stop_signals.hpp"
#include "suite/file_text.hpp"
#include "suite/guest_report.hpp"
#include "suite/result_mapping.hpp"
#include "suite/shell_words.hpp"

extern char** environ;

namespace cr3rig::suite {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kBuiltinPrefix = "builtin:";

struct Child {
    size_t index;  // into the planned tests
    pid_t pid;
    int pidfd;  // readable once the child has exited: poll() waits for exits and deadlines at once
    Clock::time_point start, kill_at;
    EntryTimeout timeout;
    std::string guest;
    std::filesystem::path log;
    std::filesystem::path json;  // what the child's --json writes
};

// Kills and reaps whatever still runs when run_tests() leaves early (an exception, a
// signal). Each child leads its own process group: killing -pid ends what it started.
struct Children {
    std::vector<Child> running;
    ~Children() { kill_all(); }
    void kill_all()
    {
        for (auto& c : running) {
            ::kill(-c.pid, SIGKILL);
            ::waitpid(c.pid, nullptr, 0);
            ::close(c.pidfd);
        }
        running.clear();
    }
};

// An entry that could not be started (its log cannot be written, exec failed: E2BIG
// for a command line longer than the OS takes): it fails with this reason, and the
// others run on.
class CannotStart : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string spawn_error(const std::vector<std::string>& argv, int err)
{
    std::string why = "cannot start " + argv[0] + ": " + std::strerror(err);
    if (err == E2BIG) {
        size_t bytes = 0;
        for (const auto& a : argv)
            bytes += a.size() + 1;
        why += " (the command line is " + std::to_string(bytes) +
               " bytes, more than the OS takes; one argument may hold at most 128 KiB)";
    }
    return why;
}

// The child leads a process group of its own: a terminal's ^C reaches the runner
// only, which ends each test's whole group itself (end_children).
pid_t spawn_logged(const std::vector<std::string>& argv, int log_fd)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, log_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, log_fd, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int err = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (err) {
        std::string why = spawn_error(argv, err);
        std::string line = "cr3rig test: " + why + "\n";
        [[maybe_unused]] ssize_t n = ::write(log_fd, line.data(), line.size());
        throw CannotStart(why);
    }
    return pid;
}

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log)
{
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        throw CannotStart("cannot write test log " + log.string() + ": " + std::strerror(errno));
    std::string header = "cr3rig test: running " + command_line(argv) + "\n";
    if (::write(fd, header.data(), header.size()) < 0) {
        ::close(fd);
        throw CannotStart("cannot write test log " + log.string() + ": " + std::strerror(errno));
    }
    try {
        pid_t pid = spawn_logged(argv, fd);
        ::close(fd);
        return pid;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

Child start(const PlannedTest& test, size_t index, const RunnerOptions& options)
{
    const ManifestEntry& e = *test.entry;
    Child c;
    c.index = index;
    c.timeout = entry_timeout(options, e);
    c.guest = guest_argument(e.file, options.manifest_dir);
    c.log = options.log_dir / (e.name + ".log");
    c.json = json_path(options, e);
    c.start = Clock::now();
    c.kill_at = c.start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(c.timeout.seconds + options.kill_grace_s));
    c.pid = spawn(child_command(options, e, c.timeout.seconds), c.log);
    c.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0));
    if (c.pidfd < 0) {
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, nullptr, 0);
        throw std::runtime_error(std::string("pidfd_open failed (the runner needs Linux 5.3): ") + std::strerror(errno));
    }
    return c;
}

// The text at `key` of a JSON object, "" when it is not there or not text.
std::string text_at(const nlohmann::json& object, const char* key)
{
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// From the child's --json, when it wrote one and ran the trap engine: its injection
// policy and replay token (one only for nth: policies). Left empty otherwise, also
// when the file is not what `cr3rig run` writes.
void read_trap_engine(const std::filesystem::path& json, TestResult& r)
{
    std::ifstream in(json);
    if (!in)
        return;
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return;
    auto engine = j.find("trap_engine");
    if (engine == j.end() || !engine->is_object())
        return;
    r.inject = text_at(*engine, "inject");
    r.replay_token = text_at(*engine, "replay_token");
}

TestResult finish(const Child& c, const ManifestEntry& entry, bool killed)
{
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    ::close(c.pidfd);
    ChildExit how;
    how.killed_by_runner = killed;
    if (WIFEXITED(status))
        how.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        how.signal = WTERMSIG(status);
    std::string log = read_text(c.log);
    TestResult r = map_child_result(entry.name, how, log, c.guest, c.timeout.seconds);
    if (r.cause == "timeout" && c.timeout.capped_from)
        r.detail += " (--max-timeout; the entry's timeout is " + format_seconds(*c.timeout.capped_from) + ")";
    r.seconds = std::chrono::duration<double>(Clock::now() - c.start).count();
    r.log_path = c.log.string();
    r.log_tail = log_tail(log);
    r.guest = c.guest;
    read_trap_engine(c.json, r);
    return r;
}

TestResult skipped(const std::string& name, const std::string& why)
{
    TestResult r;
    r.name = name;
    r.outcome = Outcome::Skip;
    r.detail = why;
    return r;
}

int poll_timeout_ms(const std::vector<Child>& running)
{
    auto next = std::min_element(running.begin(), running.end(),
                                 [](const Child& a, const Child& b) { return a.kill_at < b.kill_at; })->kill_at;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, INT_MAX));
}

TestResult not_started(const std::filesystem::path& log, const std::string& name, const std::string& why)
{
    TestResult r;
    r.name = name;
    r.outcome = Outcome::Fail;
    r.cause = "not-started";
    r.detail = why;
    r.log_path = log.string();
    r.log_tail = why;  // not the log: its first line is the command that was too long
    return r;
}

// One suite run's state: what is queued, what runs, what finished.
class Scheduler {
public:
    Scheduler(const std::vector<PlannedTest>& tests, const RunnerOptions& options)
        : tests_(tests), options_(options), results_(tests.size())
    {
        for (size_t i = 0; i < tests.size(); i++) {
            if (tests[i].skip_reason.empty())
                queue_.push_back(i);
            else
                done(i, skipped(tests[i].entry->name, tests[i].skip_reason));
        }
    }

    bool busy() const { return !queue_.empty() || running(); }
    bool running() const { return !children_.running.empty(); }

    // Starts queued tests up to -j; one that cannot start fails with its reason.
    void fill()
    {
        while (children_.running.size() < std::max(1u, options_.jobs) && !queue_.empty()) {
            size_t i = queue_.front();
            queue_.pop_front();
            try {
                children_.running.push_back(start(tests_[i], i, options_));
            } catch (const CannotStart& e) {
                const std::string& name = tests_[i].entry->name;
                done(i, not_started(options_.log_dir / (name + ".log"), name, e.what()));
            }
        }
    }

    // Until a child exits, one outlives its deadline, or `wake_fd` (a signal) is readable.
    void wait(int wake_fd);
    // After SIGINT/SIGTERM: passes the signal to each running test's process group,
    // gives them the kill grace to end, then kills what is left. Their results are
    // not kept: they did not finish.
    void stop(int signal);
    // The results of the tests that finished, in the order of the plan.
    std::vector<TestResult> finished();

private:
    void done(size_t i, TestResult r)
    {
        if (options_.on_result)
            options_.on_result(r);
        results_[i] = std::move(r);
    }

    const std::vector<PlannedTest>& tests_;
    const RunnerOptions& options_;
    std::vector<std::optional<TestResult>> results_;
    std::deque<size_t> queue_;
    Children children_;
};

void Scheduler::wait(int wake_fd)
{
    auto& running = children_.running;
    std::vector<pollfd> fds;
    for (const auto& c : running)
        fds.push_back({c.pidfd, POLLIN, 0});
    fds.push_back({wake_fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), poll_timeout_ms(running)) < 0 && errno != EINTR)
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    auto now = Clock::now();
    std::vector<Child> still;
    std::vector<std::pair<Child, bool>> ended;  // and whether the runner killed it
    for (size_t k = 0; k < running.size(); k++) {
        const Child& c = running[k];
        bool exited = fds[k].revents & (POLLIN | POLLHUP);
        bool overdue = !exited && now >= c.kill_at;
        if (overdue)
            ::kill(-c.pid, SIGKILL);
        if (exited || overdue)
            ended.emplace_back(c, overdue);
        else
            still.push_back(c);
    }
    running = std::move(still);  // before finish(), which reaps: never kill a reaped pid
    for (const auto& [c, killed] : ended)
        done(c.index, finish(c, *tests_[c.index].entry, killed));
}

void Scheduler::stop(int signal)
{
    std::vector<pollfd> fds;
    for (const auto& c : children_.running) {
        ::kill(-c.pid, signal);
        fds.push_back({c.pidfd, POLLIN, 0});
    }
    auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options_.kill_grace_s));
    size_t left = fds.size();
    while (left > 0 && Clock::now() < until) {
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
        if (::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(ms, 0, INT_MAX))) < 0 &&
            errno != EINTR)
            break;
        for (auto& p : fds)
            if (p.fd >= 0 && (p.revents & (POLLIN | POLLHUP))) {
                p.fd = -1;  // poll() skips it from now on
                left--;
            }
    }
    children_.kill_all();  // SIGKILL to what is left, and reap every one
}

std::vector<TestResult> Scheduler::finished()
{
    std::vector<TestResult> out;
    for (auto& r : results_)
        if (r)
            out.push_back(std::move(*r));
    return out;
}

}  // namespace

std::filesystem::path json_path(const RunnerOptions& options, const ManifestEntry& entry)
{
    return options.log_dir / (entry.name + ".json");
}

std::string guest_argument(const std::string& file, const std::filesystem::path& manifest_dir)
{
    if (file.starts_with(kBuiltinPrefix) || std::filesystem::path(file).is_absolute())
        return file;
    return (manifest_dir / file).lexically_normal().string();
}

EntryTimeout entry_timeout(const RunnerOptions& options, const ManifestEntry& entry)
{
    double seconds = entry.timeout_s.value_or(options.default_timeout_s);
    if (options.max_timeout_s && seconds > *options.max_timeout_s)
        return {*options.max_timeout_s, seconds};
    return {seconds, std::nullopt};
}

std::vector<std::string> child_command(const RunnerOptions& options, const ManifestEntry& entry, double timeout_s)
{
    // "--timeout=90", "--boot-timeout=2.5": --name=value, so that a value that starts
    // with '-' stays a value.
    auto seconds_option = [](const char* flag, double seconds) {
        char value[32];
        std::snprintf(value, sizeof value, "%g", seconds);
        return std::string(flag) + value;
    };
    std::vector<std::string> argv = {options.cr3rig, "run", seconds_option("--timeout=", timeout_s)};
    if (options.boot_timeout_s)
        argv.push_back(seconds_option("--boot-timeout=", *options.boot_timeout_s));
    argv.push_back("--memory=" + std::to_string(entry.memory_mib.value_or(kDefaultGuestMemoryMiB)));
    if (entry.vcpus > 1)
        argv.push_back("--smp=" + std::to_string(entry.vcpus));
    if (!entry.cpu.empty())
        argv.push_back("--cpu=" + entry.cpu);
    if (!entry.cmdline.empty())
        argv.push_back("--cmdline=" + entry.cmdline);
    argv.insert(argv.end(), entry.rig_params.begin(), entry.rig_params.end());
    argv.push_back("--json=" + json_path(options, entry).string());
    argv.push_back("--");
    argv.push_back(guest_argument(entry.file, options.manifest_dir));
    return argv;
}

SuiteRun run_tests(const std::vector<PlannedTest>& tests, const RunnerOptions& options)
{
    std::error_code ec;
    std::filesystem::create_directories(options.log_dir, ec);
    if (ec)
        throw BadInput("cannot make the log directory " + options.log_dir.string() + ": " + ec.message());

    StopSignals interrupts;
    Scheduler scheduler(tests, options);
    while (scheduler.busy() && !interrupts.signal()) {
        scheduler.fill();
        if (scheduler.running())
            scheduler.wait(interrupts.fd());
    }
    SuiteRun run;
    run.interrupted_by = interrupts.signal();
    if (run.interrupted_by)
        scheduler.stop(run.interrupted_by);
    run.results = scheduler.finished();
    return run;
}

}  // namespace cr3rig::suite
