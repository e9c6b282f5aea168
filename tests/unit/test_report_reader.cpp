// read_history: recorded histories read back whole; empty, truncated, malformed and
// unknown-format input give a one-line BadInput naming the line, or a warning.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "common/errors.hpp"
#include "harness/run_command.hpp"
#include "report/history.hpp"
#include "tests/support/report_data.hpp"

using namespace cr3rig;
using namespace cr3rig::report;
using cr3rig::testing::data_path;

namespace {

History read_text(const std::string& text)
{
    std::istringstream in(text);
    return read_history(in, "t.jsonl");
}

const std::string kHeader =
    R"({"type":"run","format":"cr3rig-history/1","guest":"g","inject":"none","backend":"b"})";
const std::string kRead =
    R"({"type":"cr3_read","seq":1,"rip":"0x10","symbol":"read_cr3","rsp":"0x7f0","cr3_before":"0x2000","cr3_after":"0x2000","value":"0x2000","guest_ns":5,"host_ns":6})";
const std::string kVerdict = R"({"type":"verdict","verdict":"PASS","reason":"ok"})";

// The message is one line and contains what is expected.
void check_bad(const std::string& text, const std::string& expected)
{
    INFO(text);
    try {
        read_text(text);
        FAIL("no BadInput");
    } catch (const BadInput& e) {
        std::string what = e.what();
        CHECK_THAT(what, Catch::Contains(expected));
        CHECK(what.find('\n') == std::string::npos);
    }
}

}  // namespace

TEST_CASE("the buggy kernel's recorded history reads back whole")
{
    History h = read_history_file(data_path(cr3rig::testing::kBuggyTrace));
    CHECK(h.name == cr3rig::testing::kBuggyTrace);
    CHECK(h.run.guest == "builtin:lazytlb-buggy");
    CHECK(h.run.inject == "after-read");
    CHECK(h.events.size() == 187);
    CHECK(h.has_guest_time);
    CHECK(h.warnings.empty());
    REQUIRE(h.verdict);
    CHECK(h.verdict->verdict == "FAIL");
    REQUIRE(h.findings.size() == 3);
    CHECK(h.findings[0].kind == FindingKind::StaleCr3Write);
    CHECK(h.findings[0].seq == 100);
    CHECK(h.findings[0].value == 0x80a000);
    CHECK(h.findings[0].expected == 0x800000);
    CHECK(h.findings[0].writes_between == std::vector<uint64_t>{0x800000});
    CHECK(h.findings[1].kind == FindingKind::Cr3NotActiveMm);
    CHECK(h.findings[2].kind == FindingKind::FaultLivelock);
    CHECK(h.findings[2].count == 77);

    // seq 100, the stale write: A writes back the pgd it read at seq 97.
    auto stale = std::find_if(h.events.begin(), h.events.end(), [](const TrapEvent& e) { return e.seq == 100; });
    REQUIRE(stale != h.events.end());
    CHECK(stale->kind == EventKind::Cr3Write);
    CHECK(stale->cr3 == 0x800000);
    CHECK(stale->value == 0x80a000);
    REQUIRE(stale->task);
    CHECK(stale->task->name == "A");
    CHECK(stale->task->pid == 2);
    auto fault = std::find_if(h.events.begin(), h.events.end(), [](const TrapEvent& e) { return e.seq == 101; });
    REQUIRE(fault != h.events.end());
    CHECK(fault->kind == EventKind::PageFault);
    CHECK(fault->fault_addr == 0x8000000059);
    CHECK(fault->error_code == 4);
    CHECK(fault->own_mm_pgd == 0x800000);
}

TEST_CASE("a history of a guest without task symbols reads, with flush events")
{
    History h = read_history_file(data_path(cr3rig::testing::kSwitchTrace));
    CHECK(h.events.size() == 203);
    CHECK(std::none_of(h.events.begin(), h.events.end(), [](const TrapEvent& e) { return e.task.has_value(); }));
    auto flushes = std::count_if(h.events.begin(), h.events.end(), [](const TrapEvent& e) { return e.kind == EventKind::Flush; });
    CHECK(flushes == 3);
    CHECK(h.events.back().instruction == "cr4-write");
    CHECK(h.events.back().value == 0x620);
}

TEST_CASE("a header with no events is a valid, empty history")
{
    History h = read_text(kHeader + "\n" + kVerdict + "\n");
    CHECK(h.events.empty());
    CHECK(h.findings.empty());
    REQUIRE(h.verdict);
    CHECK(h.warnings.empty());
}

TEST_CASE("an empty input is an error, not an empty report")
{
    check_bad("", "empty history: no run header");
    check_bad("\n\n", "empty history");
}

TEST_CASE("a last line cut short is dropped with a warning, the prefix kept")
{
    std::string cut = kRead.substr(0, kRead.size() / 2);
    History h = read_text(kHeader + "\n" + kRead + "\n" + cut);
    CHECK(h.events.size() == 1);
    CHECK_FALSE(h.verdict);
    REQUIRE(h.warnings.size() == 2);
    CHECK_THAT(h.warnings[0], Catch::Contains("t.jsonl line 3: the last line is cut short"));
    CHECK_THAT(h.warnings[1], Catch::Contains("no verdict line"));
}

TEST_CASE("a recorded history cut mid-line, as a killed run leaves it, keeps its prefix")
{
    std::string text = cr3rig::testing::read_file(data_path(cr3rig::testing::kBuggyTrace));
    std::string cut = text.substr(0, text.size() / 2);
    REQUIRE(cut.back() != '\n');
    History h = read_text(cut);
    CHECK_FALSE(h.events.empty());
    CHECK(h.events.size() < 187);
    CHECK(h.events.back().seq == h.events.size());
    CHECK_FALSE(h.verdict);
    CHECK_THAT(h.warnings.at(0), Catch::Contains("cut short"));
}

TEST_CASE("a malformed line is an error that names its line, even the last one with its newline")
{
    check_bad(kHeader + "\n" + kRead + "\n{not json\n" + kVerdict + "\n", "t.jsonl line 3: not JSON");
    check_bad(kHeader + "\n" + kRead + "\n{not json\n", "t.jsonl line 3: not JSON");
    check_bad(kHeader + "\n[1,2]\n", "t.jsonl line 2: not a JSON object");
    check_bad("garbage\n", "t.jsonl line 1: not JSON");
}

TEST_CASE("a number too large for JSON's range is an error, not a crash (found by fuzz_trace_reader)")
{
    // nlohmann throws out_of_range, not parse_error, for 3e5834126.
    check_bad(kHeader + "\n" + R"({"type":"cr3_read","seq":3e5834126})" + "\n", "t.jsonl line 2: not JSON");
}

TEST_CASE("missing or mistyped fields are errors that name the field and line")
{
    check_bad(kHeader + "\n{\"type\":\"cr3_read\",\"cr3_before\":\"0x1\",\"value\":\"0x1\"}\n", "line 2: missing field 'seq'");
    check_bad(kHeader + "\n{\"type\":\"cr3_write\",\"seq\":1,\"cr3_before\":\"0x1\"}\n", "line 2: missing field 'value'");
    check_bad(kHeader + "\n{\"type\":\"cr3_read\",\"seq\":1,\"cr3_before\":\"0x1\",\"value\":4096}\n",
              "field 'value' must be a hex string");
    check_bad(kHeader + "\n{\"type\":\"cr3_read\",\"seq\":1,\"cr3_before\":\"0xzz\",\"value\":\"0x1\"}\n",
              "field 'cr3_before' must be a hex string");
    check_bad(kHeader + "\n{\"type\":\"cr3_read\",\"seq\":-1,\"cr3_before\":\"0x1\",\"value\":\"0x1\"}\n",
              "field 'seq' must be a number >= 0");
    check_bad(kHeader + "\n{\"type\":\"cr3_read\",\"seq\":1,\"cr3_before\":\"0x1\",\"value\":\"0x1\",\"task\":\"A\"}\n",
              "field 'task' must be");
    check_bad(kHeader + "\n{\"seq\":1}\n", "line 2: missing field 'type'");
    check_bad(kHeader + "\n{\"type\":\"finding\",\"kind\":\"cosmic-ray\",\"seq\":1}\n",
              "line 2: unknown finding kind 'cosmic-ray'");
    check_bad(kHeader + "\n" + kHeader + "\n", "line 2: a second run header");
}

TEST_CASE("an unknown format version or a missing header is an error")
{
    check_bad(R"({"type":"run","format":"cr3rig-history/2","guest":"g"})" "\n",
              "line 1: unknown format 'cr3rig-history/2' (this cr3rig reads cr3rig-history/1)");
    check_bad(R"({"type":"run","guest":"g"})" "\n", "line 1: run header has no format");
    check_bad(kRead + "\n", "line 1: expected the run header");
}

TEST_CASE("records of an unknown type are skipped with one warning")
{
    History h = read_text(kHeader + "\n{\"type\":\"future\",\"x\":1}\n" + kRead + "\n{\"type\":\"future\"}\n" + kVerdict);
    CHECK(h.events.size() == 1);
    REQUIRE(h.warnings.size() == 1);
    CHECK_THAT(h.warnings[0], Catch::Contains("2 record(s) of unknown type skipped, the first at t.jsonl line 2 ('future')"));
}

TEST_CASE("events without guest_ns clear has_guest_time")
{
    std::string no_time = R"({"type":"cr3_read","seq":2,"cr3_before":"0x1","value":"0x1"})";
    History h = read_text(kHeader + "\n" + kRead + "\n" + no_time + "\n");
    CHECK(h.events.size() == 2);
    CHECK_FALSE(h.has_guest_time);
}

TEST_CASE("a trace file that cannot be read is BadInput naming it")
{
    CHECK_THROWS_WITH(read_history_file("/nonexistent/t.jsonl"), Catch::Contains("cannot open trace /nonexistent/t.jsonl"));
    CHECK_THROWS_WITH(read_history_file("/tmp"), Catch::Contains("is a directory"));
}
