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
#include <optional>
#include <sstream>

#include "common/errors.hpp"
#include "suite/guest_report.hpp"
#include "suite/result_mapping.hpp"

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
    double timeout_s;
    std::string guest;
    std::filesystem::path log;
};

// Kills and reaps whatever still runs when run_tests() leaves early (an exception).
struct Children {
    std::vector<Child> running;
    ~Children()
    {
        for (auto& c : running) {
            ::kill(c.pid, SIGKILL);
            ::waitpid(c.pid, nullptr, 0);
            ::close(c.pidfd);
        }
    }
};

std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// kvm-unit-tests' check = PATH=VALUE: a skip reason unless every PATH holds VALUE.
std::string failed_check(const ManifestEntry& entry)
{
    for (const auto& check : entry.checks) {
        size_t eq = check.find('=');
        std::string path = check.substr(0, eq), value = check.substr(eq + 1);
        std::error_code ec;
        std::string content = std::filesystem::is_regular_file(path, ec) ? read_text(path) : "";
        while (!content.empty() && content.back() == '\n')  // as the shell's $(cat PATH)
            content.pop_back();
        if (!std::filesystem::is_regular_file(path, ec) || content != value)
            return path + " not equal to " + value;
    }
    return {};
}

std::string command_line(const std::vector<std::string>& argv)
{
    std::string out;
    for (const auto& a : argv)
        out += (out.empty() ? "" : " ") + (a.find_first_of(" '\"\\") == std::string::npos ? a : "'" + a + "'");
    return out;
}

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log)
{
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        throw BadInput("cannot write test log " + log.string() + ": " + std::strerror(errno));
    std::string header = "cr3rig test: running " + command_line(argv) + "\n";
    if (::write(fd, header.data(), header.size()) < 0) {
        ::close(fd);
        throw BadInput("cannot write test log " + log.string() + ": " + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fd, 1);
    posix_spawn_file_actions_adddup2(&actions, fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int err = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fd);
    if (err)
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(err));
    return pid;
}

Child start(const PlannedTest& test, size_t index, const RunnerOptions& options)
{
    const ManifestEntry& e = *test.entry;
    Child c;
    c.index = index;
    c.timeout_s = e.timeout_s.value_or(options.default_timeout_s);
    c.guest = guest_argument(e.file, options.manifest_dir);
    c.log = options.log_dir / (e.name + ".log");
    c.start = Clock::now();
    c.kill_at = c.start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(c.timeout_s + options.kill_grace_s));
    c.pid = spawn(child_command(options, e, c.timeout_s), c.log);
    c.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0));
    if (c.pidfd < 0) {
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, nullptr, 0);
        throw std::runtime_error(std::string("pidfd_open failed (the runner needs Linux 5.3): ") + std::strerror(errno));
    }
    return c;
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
    TestResult r = map_child_result(entry.name, how, log, c.guest, c.timeout_s);
    r.seconds = std::chrono::duration<double>(Clock::now() - c.start).count();
    r.log_path = c.log.string();
    r.log_tail = log_tail(log);
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

}  // namespace

std::string guest_argument(const std::string& file, const std::filesystem::path& manifest_dir)
{
    if (file.starts_with(kBuiltinPrefix) || std::filesystem::path(file).is_absolute())
        return file;
    return (manifest_dir / file).lexically_normal().string();
}

std::vector<std::string> child_command(const RunnerOptions& options, const ManifestEntry& entry, double timeout_s)
{
    char timeout[32];
    std::snprintf(timeout, sizeof timeout, "%g", timeout_s);
    // --name=value: a value that starts with '-' stays a value. `--cmdline` only when
    // there is one, so that entries without arguments run on every cr3rig.
    std::vector<std::string> argv = {options.cr3rig, "run", std::string("--timeout=") + timeout};
    if (!entry.cmdline.empty())
        argv.push_back("--cmdline=" + entry.cmdline);
    argv.push_back("--");
    argv.push_back(guest_argument(entry.file, options.manifest_dir));
    return argv;
}

std::vector<TestResult> run_tests(const std::vector<PlannedTest>& tests, const RunnerOptions& options)
{
    std::error_code ec;
    std::filesystem::create_directories(options.log_dir, ec);
    if (ec)
        throw BadInput("cannot make the log directory " + options.log_dir.string() + ": " + ec.message());

    std::vector<std::optional<TestResult>> results(tests.size());
    auto done = [&](size_t i, TestResult r) {
        if (options.on_result)
            options.on_result(r);
        results[i] = std::move(r);
    };
    std::deque<size_t> queue;
    for (size_t i = 0; i < tests.size(); i++) {
        std::string why = tests[i].skip_reason.empty() ? failed_check(*tests[i].entry) : tests[i].skip_reason;
        if (why.empty())
            queue.push_back(i);
        else
            done(i, skipped(tests[i].entry->name, why));
    }

    Children children;
    auto& running = children.running;
    unsigned jobs = std::max(1u, options.jobs);
    while (!queue.empty() || !running.empty()) {
        while (running.size() < jobs && !queue.empty()) {
            running.push_back(start(tests[queue.front()], queue.front(), options));
            queue.pop_front();
        }
        std::vector<pollfd> fds;
        for (const auto& c : running)
            fds.push_back({c.pidfd, POLLIN, 0});
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
                ::kill(c.pid, SIGKILL);
            if (exited || overdue)
                ended.emplace_back(c, overdue);
            else
                still.push_back(c);
        }
        running = std::move(still);  // before finish(), which reaps: never kill a reaped pid
        for (const auto& [c, killed] : ended)
            done(c.index, finish(c, *tests[c.index].entry, killed));
    }

    std::vector<TestResult> out;
    for (auto& r : results)
        out.push_back(std::move(*r));
    return out;
}

}  // namespace cr3rig::suite
