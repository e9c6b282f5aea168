// The three views on recorded and synthetic histories: the text listing, Perfetto JSON
// checked against the trace-event format, and the HTML report, bounded in size for
// 100,000 events.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>
#include <sstream>

#include "report/html_report.hpp"
#include "report/perfetto_writer.hpp"
#include "report/svg_timeline.hpp"
#include "report/text_listing.hpp"
#include "tests/support/line_match.hpp"
#include "tests/support/report_data.hpp"
#include "tests/support/text_count.hpp"
#include "tests/support/trace_event_check.hpp"
#include "traps/history_writer.hpp"

using namespace cr3rig;
using namespace cr3rig::report;
using cr3rig::testing::count;
using cr3rig::testing::data_path;
using cr3rig::testing::render;
using nlohmann::json;

namespace {

History buggy() { return read_history_file(data_path(cr3rig::testing::kBuggyTrace)); }

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// Shapes in the timeline SVG.
size_t svg_shapes(const std::string& html)
{
    size_t n = 0;
    for (const char* tag : {"<rect", "<use", "<circle", "<line", "<path", "<text"})
        n += count(html, tag);
    return n;
}

}  // namespace

TEST_CASE("text: the stale write and the storm stand out, and columns line up")
{
    std::string text = render(buggy(), write_text_listing);
    CHECK_THAT(text, Catch::Contains("events   187, 3 finding(s), 1 fault storm(s)"));
    CHECK(cr3rig::testing::has_line_matching(text, R"(.*220\.061891 +100 +A \(pid 2\) +cr3_write +0x800000 -> 0x80a000 +write_cr3 +<< stale-cr3-write, cr3-not-active-mm)"));
    CHECK_THAT(text, Catch::Contains("... 75 more page faults at the same rip and address"));
    CHECK(count(text, "page_fault") == 2);  // the storm's first and last fault
    CHECK_THAT(text, Catch::Contains("77 faults at rip 0x8000000059 addr 0x8000000059 on CR3 0x80a000, task B (pid 1), "
                                     "seq 101-177 over 18.8 ms  [page-fault-livelock]"));
    CHECK_THAT(text, Catch::Contains("\nverdict  FAIL: stale-cr3-write"));

    auto lines = lines_of(text);
    auto header = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find(" seq  task") != std::string::npos; });
    REQUIRE(header != lines.end());
    size_t event_col = header->find("event");
    size_t rows = 0;
    for (auto it = header + 1; it != lines.end() && !it->empty(); ++it) {
        if (it->find("...") != std::string::npos)
            continue;
        rows++;
        INFO(*it);
        CHECK(it->at(event_col - 1) == ' ');
        CHECK(std::isalpha(static_cast<unsigned char>(it->at(event_col))));
    }
    CHECK(rows == 187 - 75);
}

TEST_CASE("text: an empty history says so, and an unfinished one has no verdict")
{
    History h = cr3rig::testing::synthetic_history(0);
    h.findings.clear();
    h.verdict.reset();
    std::string text = render(h, write_text_listing);
    CHECK_THAT(text, Catch::Contains("(no events recorded)"));
    CHECK_THAT(text, Catch::Contains("verdict  none: the run did not finish"));
}

TEST_CASE("perfetto: the buggy run is valid trace-event JSON with tasks, tenures, the storm and findings")
{
    History h = buggy();
    json doc = json::parse(render(h, write_perfetto_json));
    auto problems = cr3rig::testing::trace_event_problems(doc);
    INFO((problems.empty() ? std::string() : problems.front()));
    CHECK(problems.empty());
    CHECK(doc["displayTimeUnit"] == "ns");
    CHECK(doc["otherData"]["time_axis"] == "guest_ns");

    std::map<std::string, int> threads;
    size_t slices = 0, fault_instants = 0, globals = 0;
    const json* storm = nullptr;
    for (const auto& e : doc["traceEvents"]) {
        if (e["ph"] == "M" && e["name"] == "thread_name")
            threads[e["args"]["name"]] = e["tid"];
        if (e["ph"] == "X" && e["cat"] == "cr3")
            slices++;
        if (e["ph"] == "X" && e["cat"] == "page_fault")
            storm = &e;
        if (e["ph"] == "i" && e["name"] == "page_fault")
            fault_instants++;
        if (e["ph"] == "i" && e["s"] == "g") {
            globals++;
            if (e["name"] == "stale-cr3-write")
                CHECK(e["ts"].get<double>() == Approx(220061.891));
        }
    }
    CHECK(threads.size() == 6);  // five task lanes and B's storm thread
    CHECK(threads.count("A (pid 2)"));
    CHECK(threads.count("B (pid 1) fault storms"));
    CHECK(slices > 100);
    CHECK(globals == 3);
    CHECK(fault_instants == 0);  // all 77 faults are the storm's slice
    REQUIRE(storm);
    CHECK((*storm)["args"]["count"] == 77);
    CHECK((*storm)["dur"].get<double>() == Approx((239262251 - 220495665) / 1000.0));
}

TEST_CASE("perfetto: the seq axis, and the check catches what it should")
{
    History h = cr3rig::testing::synthetic_history(50);
    h.has_guest_time = false;
    json doc = json::parse(render(h, write_perfetto_json));
    CHECK(cr3rig::testing::trace_event_problems(doc).empty());
    CHECK(doc["otherData"]["time_axis"] == "seq (1 us per event)");

    // The check itself: each broken rule is reported.
    json bad = doc;
    bad["traceEvents"].push_back({{"ph", "X"}, {"name", "x"}, {"pid", 1}, {"tid", 1}, {"ts", 5}, {"dur", -1}});
    bad["traceEvents"].push_back({{"ph", "i"}, {"name", "x"}, {"pid", 1}, {"ts", 5}});
    bad["traceEvents"].push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", 1}, {"tid", 1}});
    bad["traceEvents"].push_back({{"ph", "i"}, {"name", "x"}, {"pid", 1}, {"tid", 1}});
    CHECK(cr3rig::testing::trace_event_problems(bad).size() == 4);
    CHECK(cr3rig::testing::trace_event_problems(json::array()).size() == 1);
}

TEST_CASE("html: findings link to their marks, the storm and legend are there, nothing is fetched")
{
    History h = buggy();
    std::string html = render(h, write_html_report);
    for (int n = 1; n <= 3; n++) {
        CHECK(count(html, "id=\"finding-" + std::to_string(n) + "\"") == 1);
        CHECK(count(html, "href=\"#finding-" + std::to_string(n) + "\"") == 1);
        CHECK(count(html, "id=\"finding-entry-" + std::to_string(n) + "\"") == 1);
    }
    CHECK_THAT(html, Catch::Contains("stale-pgd write, seq 100"));
    CHECK_THAT(html, Catch::Contains("id=\"storm-0\""));
    CHECK_THAT(html, Catch::Contains("77 faults, 18.8 ms"));
    CHECK_THAT(html, Catch::Contains("<span class=\"verdict v-FAIL\">FAIL</span>"));
    for (const char* pgd : {"0x108000", "0x800000", "0x80a000", "0x814000"})
        CHECK_THAT(html, Catch::Contains(std::string("<code>") + pgd + "</code>"));
    CHECK_THAT(html, Catch::Contains("not the task's own pgd"));
    CHECK_THAT(html, Catch::Contains("id=\"report-selfcheck\""));

    // Self-contained: the SVG namespace is the only URL, and url() points inside the page.
    CHECK(count(html, "http") == count(html, "http://www.w3.org/2000/svg"));
    CHECK(count(html, "url(") == count(html, "url(#"));
    CHECK(count(html, "<link") == 0);
    CHECK(count(html, " src=") == 0);
    CHECK(count(html, "@import") == 0);
    CHECK(count(html, "<script") == 2);  // the error collector and the page script, both inline
}

TEST_CASE("html: guest strings are escaped, and an empty history says so")
{
    History h = cr3rig::testing::synthetic_history(30);
    h.events[3].task = TaskId{9, "<script>alert(1)</script>"};
    h.run.guest = "a&b";
    std::string html = render(h, write_html_report);
    CHECK(count(html, "<script>alert") == 0);
    CHECK_THAT(html, Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt; (pid 9)"));
    CHECK_THAT(html, Catch::Contains("a&amp;b"));

    History empty = cr3rig::testing::synthetic_history(0);
    empty.findings.clear();
    std::string page = render(empty, write_html_report);
    CHECK_THAT(page, Catch::Contains("no events recorded"));
    CHECK_THAT(page, Catch::Contains("Findings (0)"));
}

TEST_CASE("html: 100000 events written, read back and drawn stay bounded in size")
{
    auto path = std::filesystem::temp_directory_path() / ("cr3rig-report-100k-" + std::to_string(::getpid()) + ".jsonl");
    History synthetic = cr3rig::testing::synthetic_history(100000);
    {
        HistoryWriter writer(path.string());
        writer.header(synthetic.run.guest, synthetic.run.inject, synthetic.run.backend);
        for (const auto& e : synthetic.events)
            writer.event(e);
        for (const auto& f : synthetic.findings)
            writer.finding(f);
        writer.verdict("FAIL", "stale");
    }
    History h = read_history_file(path.string());
    std::filesystem::remove(path);
    REQUIRE(h.events.size() == 100000);

    std::string small = render(cr3rig::testing::synthetic_history(10), write_html_report);
    std::string html = render(h, write_html_report);
    INFO("10 events: " << small.size() << " bytes, 100000 events: " << html.size() << " bytes");
    CHECK(html.size() < 1500 * 1024);
    size_t shapes = svg_shapes(html);
    CHECK(shapes < kMaxSvgElements + 200);  // + axis, labels, legend icons, finding marks
    CHECK_THAT(html, Catch::Contains("dense: one mark per event kind per"));
    CHECK_THAT(html, Catch::Contains("1000 faults"));
    CHECK(count(html, "class=\"finding-mark") == 2);

    // The text listing folds the storm; Perfetto keeps every event.
    std::string text = render(h, write_text_listing);
    CHECK_THAT(text, Catch::Contains("... 998 more page faults"));
    json doc = json::parse(render(h, write_perfetto_json));
    CHECK(cr3rig::testing::trace_event_problems(doc).empty());
}
