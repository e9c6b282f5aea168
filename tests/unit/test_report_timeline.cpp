// The timeline model on a recorded history of the seed race: lanes, tenures, the fault
// storm and where each finding stands.
#include <catch2/catch.hpp>

#include "report/timeline.hpp"
#include "tests/support/report_data.hpp"

using namespace cr3rig;
using namespace cr3rig::report;
using cr3rig::testing::data_path;

TEST_CASE("the buggy run's timeline: a lane per task, the storm, the findings' events")
{
    History h = read_history_file(data_path(cr3rig::testing::kBuggyTrace));
    Timeline t = build_timeline(h);
    CHECK(t.axis == TimeAxis::GuestNs);
    CHECK(t.t0 == 39360604.0);
    CHECK(t.t1 == 313562745.0);

    std::vector<std::string> labels;
    for (const auto& lane : t.lanes)
        labels.push_back(lane.label);
    CHECK(labels == std::vector<std::string>{"no task", "idle (pid 0)", "B (pid 1)", "A (pid 2)", "C (pid 3)"});
    CHECK(t.pgds == std::vector<uint64_t>{0x108000, 0x800000, 0x80a000, 0x814000});
    CHECK(t.pgd_owners.at(0x800000) == "mm of B");
    CHECK(t.pgd_owners.at(0x80a000) == "mm of A");

    REQUIRE(t.storms.size() == 1);
    const Storm& storm = t.storms[0];
    CHECK(storm.count == 77);
    CHECK(t.lanes[storm.lane].label == "B (pid 1)");
    CHECK(h.events[storm.first].seq == 101);
    CHECK(h.events[storm.last].seq == 177);
    CHECK(storm.cr3 == 0x80a000);
    CHECK(storm.guest_ns == 239262251 - 220495665);
    CHECK(storm.finding == size_t{2});

    REQUIRE(t.finding_event.size() == 3);
    REQUIRE(t.finding_event[0]);
    CHECK(h.events[*t.finding_event[0]].seq == 100);

    // While B faults it runs on A's pgd, which is not its own: a foreign tenure.
    auto during = std::find_if(t.tenures.begin(), t.tenures.end(), [&](const Tenure& ten) {
        return ten.start <= storm.start && ten.end >= storm.end && ten.lane == storm.lane;
    });
    REQUIRE(during != t.tenures.end());
    CHECK(during->pgd == 0x80a000);
    CHECK(during->foreign);

    // Tenures tile the time axis: each ends where the next begins.
    for (size_t i = 1; i < t.tenures.size(); i++)
        if (t.tenures[i - 1].end != t.tenures[i].start)
            FAIL_CHECK("tenure " << i - 1 << " ends at " << t.tenures[i - 1].end << ", the next starts at " << t.tenures[i].start);
    CHECK(t.tenures.back().end == t.t1);
}

TEST_CASE("without guest time, or when it goes back, the axis is seq")
{
    History h = cr3rig::testing::synthetic_history(20);
    CHECK(build_timeline(h).axis == TimeAxis::GuestNs);
    h.events[5].guest_ns = 1;
    CHECK(build_timeline(h).axis == TimeAxis::Seq);
    h = cr3rig::testing::synthetic_history(20);
    h.has_guest_time = false;
    Timeline t = build_timeline(h);
    CHECK(t.axis == TimeAxis::Seq);
    CHECK(t.t0 == 1.0);
    CHECK(t.t1 == 20.0);
}

TEST_CASE("a storm shorter than the threshold is no storm, and faults elsewhere end one")
{
    History h = cr3rig::testing::synthetic_history(0);
    for (uint64_t seq = 1; seq <= 20; seq++) {
        TrapEvent e;
        e.seq = seq;
        e.kind = EventKind::PageFault;
        e.guest_ns = seq;
        e.fault_addr = e.fault_rip = seq <= kStormMinFaults - 1 ? 0x1000 : 0x2000;
        h.events.push_back(e);
    }
    h.findings.clear();
    Timeline t = build_timeline(h);
    REQUIRE(t.storms.size() == 1);
    CHECK(t.storms[0].count == 20 - (kStormMinFaults - 1));
    CHECK(t.storms[0].fault_addr == 0x2000);
    CHECK_FALSE(t.storms[0].finding);
}
