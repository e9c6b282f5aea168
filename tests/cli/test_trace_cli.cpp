// `cr3rig trace` end to end on the recorded histories (no KVM), and its bad input:
// one line and exit 2. Also `run --report` to a path that cannot be written.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/run_command.hpp"
#include "tests/support/report_data.hpp"
#include "tests/support/usage_error.hpp"

using cr3rig::testing::data_path;
using cr3rig::testing::run_command;

namespace {

std::string cr3rig_trace(const std::string& args) { return std::string(CR3RIG_BINARY) + " trace " + args; }

// A scratch directory for this test process, removed at the end of the test.
struct Scratch {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("cr3rig-trace-cli-" + std::to_string(::getpid()));
    Scratch() { std::filesystem::create_directories(dir); }
    ~Scratch() { std::filesystem::remove_all(dir); }
    std::string file(const std::string& name, const std::string& text) const
    {
        std::ofstream(dir / name, std::ios::binary) << text;
        return (dir / name).string();
    }
};

void check_rejected(const std::string& command, const std::string& expected)
{
    cr3rig::testing::check_usage_error_of(command, expected);
}

}  // namespace

TEST_CASE("cr3rig trace writes text to stdout by default, html and perfetto to files")
{
    Scratch scratch;
    std::string trace = data_path(cr3rig::testing::kBuggyTrace);
    auto text = run_command(cr3rig_trace(trace));
    CHECK(text.exit_code == 0);
    CHECK_THAT(text.output, Catch::Contains("<< stale-cr3-write"));
    CHECK_THAT(text.output, Catch::Contains("verdict  FAIL"));

    std::string html = (scratch.dir / "r.html").string();
    auto h = run_command(cr3rig_trace(trace + " --to html -o " + html));
    CHECK(h.exit_code == 0);
    CHECK_THAT(h.output, Catch::Contains("wrote " + html + " (html, 187 events, 3 findings)"));
    CHECK_THAT(cr3rig::testing::read_file(html), Catch::StartsWith("<!DOCTYPE html>"));

    auto p = run_command(cr3rig_trace(data_path(cr3rig::testing::kSwitchTrace) + " --to perfetto 2>/dev/null"));
    CHECK(p.exit_code == 0);
    CHECK_NOTHROW(nlohmann::json::parse(p.output).at("traceEvents"));
}

TEST_CASE("cr3rig trace shows a history cut short, with a warning")
{
    Scratch scratch;
    std::string text = cr3rig::testing::read_file(data_path(cr3rig::testing::kFixedTrace));
    std::string cut = scratch.file("cut.jsonl", text.substr(0, text.size() - 100));
    auto r = run_command(cr3rig_trace(cut + " --to html -o " + (scratch.dir / "cut.html").string()));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("cr3rig: warning: cut.jsonl line"));
    CHECK_THAT(r.output, Catch::Contains("the last line is cut short"));
    CHECK_THAT(cr3rig::testing::read_file((scratch.dir / "cut.html").string()), Catch::Contains("INCOMPLETE"));
}

TEST_CASE("cr3rig trace rejects unusable histories and options with one line, exit 2")
{
    Scratch scratch;
    std::string header = R"({"type":"run","format":"cr3rig-history/1","guest":"g"})";
    check_rejected(cr3rig_trace("/nonexistent/t.jsonl"), "cannot open trace /nonexistent/t.jsonl");
    check_rejected(cr3rig_trace(scratch.file("empty.jsonl", "")), "empty.jsonl: empty history");
    check_rejected(cr3rig_trace(scratch.file("bad.jsonl", header + "\n{\"type\":\"cr3_read\",\n" + header + "\n")),
                   "bad.jsonl line 2: not JSON");
    check_rejected(cr3rig_trace(scratch.file("v2.jsonl", R"({"type":"run","format":"cr3rig-history/2"})" "\n")),
                   "unknown format 'cr3rig-history/2'");
    check_rejected(cr3rig_trace(data_path(cr3rig::testing::kFixedTrace) + " --to pdf"), "--to");
    check_rejected(cr3rig_trace(data_path(cr3rig::testing::kFixedTrace) + " --to html -o /nonexistent/dir/r.html"),
                   "cannot write /nonexistent/dir/r.html");
    check_rejected(cr3rig_trace(""), "file is required");
}

TEST_CASE("cr3rig run --report to a path that cannot be written fails before the run")
{
    Scratch scratch;
    check_rejected(std::string(CR3RIG_BINARY) + " run -q builtin:hello --report " + scratch.dir.string(),
                   "cannot write report " + scratch.dir.string());
    check_rejected(std::string(CR3RIG_BINARY) + " run -q builtin:hello --report /nonexistent/dir/r.html",
                   "cannot write report /nonexistent/dir/r.html");
    check_rejected(std::string(CR3RIG_BINARY) + " run -q --report /nonexistent/dir/r.html",
                   "cannot write report /nonexistent/dir/r-buggy.html");
}
