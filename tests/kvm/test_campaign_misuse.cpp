// Campaigns, merges and replays given what they cannot explore: a guest whose plain
// run does not pass, a token naming a read the guest never makes, a stop signal in
// the middle. Each gets an answer that says what happened, with its exit code.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "campaign/campaign.hpp"
#include "harness/run_command.hpp"
#include "vmm/elf_loader.hpp"

extern char** environ;

using namespace cr3rig;
using cr3rig::testing::run_command;
namespace fs = std::filesystem;

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }

struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name) : path(fs::temp_directory_path() / ("cr3rig-misuse-" + name))
    {
        fs::remove_all(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string token_for(const std::string& guest_file, uint64_t read)
{
    ElfImage image = ElfImage::read_file(std::string(CR3RIG_GUEST_DIR) + "/" + guest_file);
    return ReplayToken{content_hash(image.bytes()), Schedule(read, 0), 32, 16}.encode();
}

}  // namespace

TEST_CASE("a campaign on a guest whose reference run does not pass answers with that run's verdict")
{
    struct Case {
        const char* guest;
        const char* extra;
        int exit_code;
        const char* verdict;
    };
    for (const Case& c : {Case{"builtin:triple-fault", "", 3, "CRASH"}, Case{"builtin:fail", "", 1, "FAIL"},
                          Case{"builtin:halt", "--timeout 1s", 124, "TIMEOUT"},
                          Case{"builtin:lazytlb-selfpreempt", "", 1, "FAIL"}}) {
        auto r = run_command(cli(std::string("campaign ") + c.guest + " " + c.extra));
        INFO(c.guest << "\n" << r.output);
        CHECK(r.exit_code == c.exit_code);
        CHECK_THAT(r.output, Catch::StartsWith(std::string("cr3rig: campaign ") + c.guest +
                                               ": the reference run (no injection) did not pass: " + c.verdict));
        CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
        CHECK_THAT(r.output, !Catch::Contains("0 schedules"));
    }
    auto selfpreempt = run_command(cli("campaign builtin:lazytlb-selfpreempt"));
    CHECK_THAT(selfpreempt.output, Catch::Contains("findings: stale-cr3-write"));
    auto hello = run_command(cli("campaign builtin:hello"));  // passes, never reads CR3
    INFO(hello.output);
    CHECK(hello.exit_code == 0);
    CHECK_THAT(hello.output, Catch::Contains("passed without a CR3 read: nothing to explore"));
}

TEST_CASE("replay refuses a token that preempts a CR3 read the guest does not make")
{
    auto r = run_command(cli("replay " + token_for("lazytlb-fixed.elf", 999) + " builtin:lazytlb-fixed"));
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("preempts CR3 read 999, but this run of the guest made"));
}

TEST_CASE("replay writes --trace and --report and logs each finding as run does")
{
    TempDir dir("replay");
    fs::create_directories(dir.path);
    std::string trace = (dir.path / "h.jsonl").string(), report = (dir.path / "r.html").string();
    auto r = run_command(cli("replay " + token_for("lazytlb-buggy.elf", 1) +
                             " builtin:lazytlb-buggy --trace " + trace + " --report " + report));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("cr3rig: FINDING stale-cr3-write"));
    CHECK_THAT(cr3rig::testing::read_file(trace), Catch::Contains("\"finding\""));
    CHECK_THAT(cr3rig::testing::read_file(report), Catch::Contains("stale-cr3-write"));
}

namespace {

size_t complete_lines(const fs::path& path)
{
    std::string text = cr3rig::testing::read_file(path.string());
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The processes whose parent is `pid` (from /proc/PID/stat's fourth field).
std::vector<pid_t> children_of(pid_t pid)
{
    std::vector<pid_t> out;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string stat = cr3rig::testing::read_file((entry.path() / "stat").string());
        size_t close = stat.rfind(')');
        if (close == std::string::npos)
            continue;
        int ppid = 0;
        if (std::sscanf(stat.c_str() + close + 1, " %*c %d", &ppid) == 1 && ppid == pid)
            out.push_back(std::stoi(entry.path().filename().string()));
    }
    return out;
}

pid_t spawn_campaign(const std::vector<std::string>& args, const std::string& log)
{
    std::vector<char*> argv{const_cast<char*>(CR3RIG_BINARY)};
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, CR3RIG_BINARY, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return rc == 0 ? pid : -1;
}

}  // namespace

TEST_CASE("SIGTERM stops a campaign, its workers with it, and keeps the schedules so far, marked incomplete")
{
    TempDir dir("sigterm");
    fs::path out = dir.path / "out", log = dir.path.string() + ".log";
    // 90 runs in all: far more than run between the first result and the signal.
    pid_t pid = spawn_campaign({"campaign", "builtin:lazytlb-fixed", "--preemptions", "2", "-j", "2", "--out",
                                out.string()},
                               log.string());
    REQUIRE(pid > 0);
    while (complete_lines(out / "schedules-1-of-1.jsonl") < 1)  // waits for a condition, not a time
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::vector<pid_t> workers = children_of(pid);
    CHECK(workers.size() == 2);
    ::kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    std::string output = cr3rig::testing::read_file(log.string());
    fs::remove(log);
    INFO(output);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
    CHECK_THAT(output, Catch::Contains("incomplete: stopped by SIGTERM"));
    for (pid_t w : workers)
        CHECK((::kill(w, 0) == -1 && errno == ESRCH));  // the workers ended with the campaign

    std::string summary = cr3rig::testing::read_file((out / "summary-1-of-1.json").string());
    CHECK_THAT(summary, Catch::Contains("\"status\": \"incomplete\""));
    CHECK_THAT(summary, Catch::Contains("\"stopped_by\": \"SIGTERM\""));
    std::ifstream in(out / "schedules-1-of-1.jsonl");
    size_t lines = 0;
    for (std::string line; std::getline(in, line); lines++)
        CHECK_NOTHROW(ScheduleResult::from_json_line(line));
    CHECK(lines >= 1);
    auto merged = run_command(cli("merge " + out.string()));
    CHECK_THAT(merged.output, Catch::Contains("merged (incomplete)"));
    CHECK_THAT(merged.output, Catch::Contains("stopped by SIGTERM"));
}
