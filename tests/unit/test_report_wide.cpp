// The HTML report of wide histories: many tasks, many pgds, many findings and storms,
// strings of any length. Before the limits, 20,000 events over 20,000 tasks made a
// 12 MB page and took 540 MB to draw (a lane, a legend entry and a colour per task).
#include <catch2/catch.hpp>

#include "report/html_report.hpp"
#include "report/svg_timeline.hpp"
#include "report/timeline.hpp"
#include "tests/support/text_count.hpp"

using namespace cr3rig;
using namespace cr3rig::report;
using cr3rig::testing::count;

namespace {

// The page stays under this for any input; docs/report.md says so.
constexpr size_t kPageBound = 3 * 1024 * 1024;

// `events` events, event i by task i % tasks + 1 on that task's own pgd, every kind;
// as tests/support/wide_history.py writes them.
History wide_history(uint64_t events, uint64_t tasks, const std::string& name_tail = "")
{
    History h;
    h.name = "wide";
    h.run = {"builtin:wide", "none", "test"};
    for (uint64_t seq = 1; seq <= events; seq++) {
        TrapEvent e;
        e.seq = seq;
        e.kind = static_cast<EventKind>(seq % 5);
        int64_t pid = static_cast<int64_t>(seq % tasks + 1);
        // Appended, not "t" + std::to_string(...): g++ 12 at -O3 sees a false -Wrestrict
        // in the inlined operator+(const char*, string&&).
        std::string task_name = "t";
        task_name += std::to_string(pid);
        task_name += name_tail;
        e.task = TaskId{pid, task_name};
        e.cr3 = e.value = 0x100000 + 0x1000 * static_cast<uint64_t>(pid);
        e.own_mm_pgd = e.cr3;
        e.fault_rip = e.fault_addr = 0x500000 + seq;
        e.symbol = "sym" + name_tail;
        e.guest_ns = 1000 * seq;
        h.events.push_back(e);
    }
    h.verdict = RunVerdict{"PASS", "wide"};
    return h;
}

std::string html_of(const History& h) { return cr3rig::testing::render(h, write_html_report); }

}  // namespace

TEST_CASE("html: 20000 events over 20000 tasks make a bounded page that says what it put together")
{
    History h = wide_history(20000, 20000);
    std::string html = html_of(h);
    INFO("page: " << html.size() << " bytes");
    CHECK(html.size() < kPageBound);
    CHECK(count(html, "class=\"lane\"") == kHtmlLimits.max_lanes);
    CHECK_THAT(html, Catch::Contains("wide: 20000 tasks; the 39 with findings or the most events have a lane each, "
                                     "the other 19961 share the last lane"));
    CHECK_THAT(html, Catch::Contains("19961 other tasks"));
    CHECK_THAT(html, Catch::Contains("24 of 20000 pgds have a colour of their own, the others are grey"));
    CHECK_THAT(html, Catch::Contains("19976 other pgds (not listed)"));
}

TEST_CASE("timeline: past the limits, per-task and per-pgd structures stay at the limits")
{
    Timeline t = build_timeline(wide_history(20000, 20000), kHtmlLimits);
    CHECK(t.tasks == 20000);
    CHECK(t.lanes.size() == kHtmlLimits.max_lanes);
    CHECK(t.lanes.back().tasks == 20000 - (kHtmlLimits.max_lanes - 1));
    CHECK(t.pgds.size() == kHtmlLimits.max_pgds);
    CHECK(t.pgds_held == 20000);
    CHECK(t.pgd_owners.size() <= kHtmlLimits.max_pgds);
    // The text and Perfetto views ask for no limits: a lane per task, as before.
    CHECK(build_timeline(wide_history(2000, 1000)).lanes.size() == 1000);
}

TEST_CASE("timeline: a task whose event holds a finding keeps its own lane")
{
    History h = wide_history(5000, 1000);
    h.findings.push_back(Finding{FindingKind::StaleCr3Write, 4999, "stale", 0, 0, 0, 0, {}, 0, 0, 0});
    Timeline t = build_timeline(h, kHtmlLimits);
    size_t lane = t.event_lane[4998];
    CHECK(t.lanes[lane].tasks == 1);
    REQUIRE(t.lanes[lane].task);
    CHECK(t.lanes[lane].task->pid == h.events[4998].task->pid);
}

TEST_CASE("html: long guest strings, thousands of findings and storms stay bounded, and the page says so")
{
    History h = wide_history(20000, 20000, std::string(5000, 'x'));
    for (uint64_t f = 0; f < 1000; f++)
        h.findings.push_back(Finding{FindingKind::StaleCr3Write, 1 + 20 * f, std::string(100000, 's'), 0, 0, 0, 0,
                                     {}, 0, 0, 0});
    for (uint64_t seq = 1; seq <= 20000; seq++) {  // 20000 faults in 2500 storms of 8
        TrapEvent& e = h.events[seq - 1];
        e.kind = EventKind::PageFault;
        e.fault_rip = e.fault_addr = 0x400000 + (seq - 1) / 8;
    }
    std::string html = html_of(h);
    INFO("page: " << html.size() << " bytes");
    CHECK(html.size() < kPageBound);
    CHECK_THAT(html, Catch::Contains("Findings (1000)"));
    CHECK(count(html, "<li class=\"finding\"") == kMaxFindingMarks);
    CHECK_THAT(html, Catch::Contains("800 more findings not shown here"));
    CHECK_THAT(html, Catch::Contains("Fault storms (2500)"));
    CHECK_THAT(html, Catch::Contains("2400 more fault storms"));
}

TEST_CASE("html: one million events over 20000 tasks stay under the same bound")
{
    std::string html = html_of(wide_history(1000000, 20000));
    INFO("page: " << html.size() << " bytes");
    CHECK(html.size() < kPageBound);
    CHECK_THAT(html, Catch::Contains("wide: 20000 tasks"));
}
