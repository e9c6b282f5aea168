// The HTML report in a real headless browser: its script runs without errors, its
// findings panel lists the findings and each link finds its mark on the timeline; a
// screenshot of each report goes to build/artifacts/ (a CI artefact).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "report/html_report.hpp"
#include "tests/browser/chromium.hpp"
#include "tests/support/report_data.hpp"

using namespace cr3rig;
using namespace cr3rig::testing;

namespace {

struct Page {
    std::filesystem::path path;
    explicit Page(const report::History& history, const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("cr3rig-" + std::to_string(::getpid()) + "-" + name + ".html"))
    {
        report::write_html_report_file(history, path.string());
    }
    ~Page() { std::filesystem::remove(path); }
};

// What the page's script wrote into <pre id="report-selfcheck">.
std::string selfcheck(const std::string& dom)
{
    std::smatch m;
    REQUIRE(std::regex_search(dom, m, std::regex(R"(<pre id="report-selfcheck">([^<]*)</pre>)")));
    return m[1];
}

std::vector<std::string> console_lines(const std::string& log)
{
    std::vector<std::string> lines;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (line.find(":CONSOLE") != std::string::npos)
            lines.push_back(line);
    return lines;
}

// Loads the page, checks the script's own report and the console, returns the self-check.
std::string check_page(const Page& page)
{
    BrowserRun run = run_chromium(page.path.string(), "--dump-dom");
    INFO("chromium log:\n" << run.log);
    REQUIRE(run.exit_code == 0);
    CHECK(console_lines(run.log).empty());
    std::string check = selfcheck(run.stdout_text);
    INFO("self-check:\n" << check);
    CHECK_THAT(check, Catch::EndsWith("errors: none"));
    return check;
}

// A PNG of the page at 1400x900 in build/artifacts/NAME.png.
void screenshot(const Page& page, const std::string& name)
{
    std::filesystem::create_directories(CR3RIG_ARTIFACTS_DIR);
    std::string png = std::string(CR3RIG_ARTIFACTS_DIR "/") + name + ".png";
    std::filesystem::remove(png);
    BrowserRun run = run_chromium(page.path.string(), "--screenshot=" + png + " --window-size=1400,900");
    INFO("chromium log:\n" << run.log);
    CHECK(run.exit_code == 0);
    std::string data = read_file(png);
    REQUIRE(data.size() > 24);
    CHECK(data.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    auto be32 = [&](size_t at) {
        return (uint32_t(uint8_t(data[at])) << 24) | (uint32_t(uint8_t(data[at + 1])) << 16) |
               (uint32_t(uint8_t(data[at + 2])) << 8) | uint32_t(uint8_t(data[at + 3]));
    };
    CHECK(be32(16) == 1400);  // IHDR width and height
    CHECK(be32(20) == 900);
    CHECK(data.size() > 20000);  // not a blank page
}

}  // namespace

TEST_CASE("the buggy run's report in Chromium lists its three findings, each linked to its mark")
{
    Page page(report::read_history_file(data_path(kBuggyTrace)), "buggy");
    std::string check = check_page(page);
    CHECK_THAT(check, Catch::StartsWith("findings-listed: 3\n"));
    CHECK_THAT(check, Catch::Contains("finding stale-cr3-write seq 100: target #finding-1 ok"));
    CHECK_THAT(check, Catch::Contains("finding cr3-not-active-mm seq 100: target #finding-2 ok"));
    CHECK_THAT(check, Catch::Contains("finding page-fault-livelock seq 101: target #finding-3 ok"));
    CHECK_THAT(check, Catch::Contains("highlight: ok"));
    screenshot(page, "report-buggy");
}

TEST_CASE("the fixed run's report in Chromium lists no findings")
{
    Page page(report::read_history_file(data_path(kFixedTrace)), "fixed");
    std::string check = check_page(page);
    CHECK_THAT(check, Catch::StartsWith("findings-listed: 0\n"));
    screenshot(page, "report-fixed");
}

TEST_CASE("a 100000-event report in Chromium draws, aggregated, without errors")
{
    Page page(synthetic_history(100000), "dense");
    std::string check = check_page(page);
    CHECK_THAT(check, Catch::StartsWith("findings-listed: 2\n"));
    CHECK_THAT(check, Catch::Contains("highlight: ok"));
    screenshot(page, "report-dense");
}

TEST_CASE("a page whose script fails is caught by the check")
{
    // The same check on a deliberately broken page, so a passing check means something.
    report::History h = report::read_history_file(data_path(kFixedTrace));
    Page page(h, "broken");
    std::string html = read_file(page.path.string());
    html.insert(html.find("<details class=\"selfcheck\">"), "<script>noSuchFunction();</script>");
    std::ofstream(page.path) << html;
    BrowserRun run = run_chromium(page.path.string(), "--dump-dom");
    REQUIRE(run.exit_code == 0);
    CHECK_THAT(selfcheck(run.stdout_text), Catch::Contains("errors: Uncaught ReferenceError: noSuchFunction"));
    CHECK_FALSE(console_lines(run.log).empty());
}
