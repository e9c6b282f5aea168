// `cr3rig run --report` on real guests: the report of a run, and the pair's two reports.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "harness/run_command.hpp"

using cr3rig::testing::read_file;
using cr3rig::testing::run_command;

namespace {

struct ScratchDir {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("cr3rig-report-" + std::to_string(::getpid()));
    ScratchDir() { std::filesystem::create_directories(dir); }
    ~ScratchDir() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("run --report writes the HTML report of a buggy run and the trace file keeps its history")
{
    ScratchDir scratch;
    std::string report = (scratch.dir / "buggy.html").string(), trace = (scratch.dir / "buggy.jsonl").string();
    // The rig clock gives the same findings every run, however loaded the host.
    auto r = run_command(std::string(CR3RIG_BINARY) + " run -q builtin:lazytlb-buggy --inject after-read --rig-clock 32 --report " +
                         report + " --trace " + trace);
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("cr3rig: report: " + report));
    std::string html = read_file(report);
    CHECK_THAT(html, Catch::StartsWith("<!DOCTYPE html>"));
    CHECK_THAT(html, Catch::Contains("data-kind=\"stale-cr3-write\""));
    CHECK_THAT(html, Catch::Contains("id=\"finding-1\""));
    CHECK_THAT(html, Catch::Contains("buggy.jsonl"));
    CHECK_THAT(read_file(trace), Catch::Contains("\"type\":\"verdict\""));
}

TEST_CASE("run --report without --trace leaves no temporary history behind")
{
    ScratchDir scratch;
    std::string report = (scratch.dir / "switch.html").string();
    auto tmp = scratch.dir / "tmp";  // the run's own temporary directory, to see what it leaves there
    std::filesystem::create_directories(tmp);
    auto r = run_command("TMPDIR=" + tmp.string() + " " + CR3RIG_BINARY + " run -q builtin:cr3-switch --report " + report);
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(read_file(report), Catch::Contains("<span class=\"verdict v-PASS\">PASS</span>"));
    CHECK_THAT(read_file(report), Catch::Contains("not kept: add --trace FILE to keep it"));
    CHECK(std::filesystem::is_empty(tmp));
}

TEST_CASE("run --report without a guest writes a report for each kernel of the pair")
{
    ScratchDir scratch;
    std::string base = (scratch.dir / "report.html").string();
    auto r = run_command(std::string(CR3RIG_BINARY) + " run -q --report " + base);  // once: on the rig clock
    INFO(r.output);
    CHECK(r.exit_code == 0);
    std::string buggy = (scratch.dir / "report-buggy.html").string(), fixed = (scratch.dir / "report-fixed.html").string();
    CHECK_THAT(r.output, Catch::Contains("reports: " + buggy + " (buggy), " + fixed + " (fixed)"));
    CHECK_THAT(read_file(buggy), Catch::Contains("data-kind=\"page-fault-livelock\""));
    CHECK_THAT(read_file(fixed), Catch::Contains("Findings (0)"));
    CHECK_FALSE(std::filesystem::exists(base));
}

namespace {

// The `backend` of a history's header line (written by nlohmann::json, no quotes inside).
std::string header_backend(const std::string& history)
{
    std::string line = history.substr(0, history.find('\n'));
    const std::string key = "\"backend\":\"";
    size_t at = line.find(key);
    if (at == std::string::npos)
        return "(no backend in the header: " + line + ")";
    at += key.size();
    return line.substr(at, line.find('"', at) - at);
}

}  // namespace

// The header was written before the guest loaded its IDT and counted "1 read, 1 write,
// 1 lidt (3 of 4 slots)"; the `traps:` line, written at the end, "... #PF entry, 1 lidt
// (4 of 4 slots)". Both now describe the one TrapPlan (traps/trap_plan.hpp).
TEST_CASE("the history's header and the traps: line on stderr count the same debug-register slots")
{
    ScratchDir scratch;
    std::string trace = (scratch.dir / "slots.jsonl").string();
    struct Case {
        const char* args;
        const char* backend_starts;
    };
    for (Case c : {Case{"builtin:lazytlb-buggy --inject after-read --rig-clock 32",
                        "hardware breakpoints: 1 read, 1 write, #PF entry, 1 lidt (4 of 4 slots)"},
                   Case{"builtin:cr3-switch-inline --trap-backend port", "patched traps (out to port 0xef): 3 read, 3 write"},
                   Case{"builtin:cr3-switch-inline --trap-backend hw",
                        "single-step through all guest code: 3 reads + 3 writes"}}) {
        auto r = run_command(std::string(CR3RIG_BINARY) + " run " + c.args + " --trace " + trace);
        INFO(c.args << "\n" << r.output);
        std::string backend = header_backend(read_file(trace));
        CHECK_THAT(backend, Catch::StartsWith(c.backend_starts));
        CHECK_THAT(r.output, Catch::Contains("cr3rig: traps: " + backend + "; inject "));
    }
}
