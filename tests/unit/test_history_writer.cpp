// HistoryWriter: the JSON Lines CR3 history, written to a temp file and parsed back
// line by line with nlohmann::json; and the error for an unwritable path.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "traps/history_writer.hpp"

using namespace cr3rig;
using nlohmann::json;

namespace {

// A unique file in the temp directory, removed at the end of the test.
struct TempFile {
    std::filesystem::path path;
    explicit TempFile(const std::string& name)
        : path(std::filesystem::temp_directory_path() /
               ("cr3rig-history-" + std::to_string(::getpid()) + "-" + name + ".jsonl"))
    {
        std::filesystem::remove(path);
    }
    ~TempFile() { std::filesystem::remove(path); }
};

std::vector<json> read_lines(const std::filesystem::path& path)
{
    std::ifstream in(path);
    REQUIRE(in.good());
    std::vector<json> out;
    std::string text;
    while (std::getline(in, text)) {
        INFO("line: " << text);
        REQUIRE_NOTHROW(out.push_back(json::parse(text)));
    }
    return out;
}

TrapEvent event(EventKind kind, uint64_t seq)
{
    TrapEvent e;
    e.kind = kind;
    e.seq = seq;
    e.rip = 0x100b80 + seq;
    e.rsp = 0x7ff0;
    e.cr3 = 0x1000;
    e.guest_ns = 100 * seq;
    e.host_ns = 200 * seq;
    return e;
}

}  // namespace

TEST_CASE("the history has a run header, one line per event and finding, and a verdict")
{
    TempFile file("full");

    TrapEvent read = event(EventKind::Cr3Read, 1);
    read.symbol = "read_cr3";
    read.value = 0x1000;
    read.task = TaskId{7, "init"};
    read.active_mm_pgd = 0x1000;

    TrapEvent write = event(EventKind::Cr3Write, 2);
    write.symbol = "write_cr3";
    write.value = 0x2000;
    write.task = TaskId{8, "worker \"b\""};
    write.active_mm_pgd = 0x3000;
    write.own_mm_pgd = 0x2000;

    TrapEvent injection = event(EventKind::Injection, 3);
    injection.value = 32;

    TrapEvent fault = event(EventKind::PageFault, 4);
    fault.fault_rip = 0x400123;
    fault.fault_addr = 0x401000;
    fault.error_code = 6;
    fault.own_mm_pgd = 0x5000;

    Finding stale{FindingKind::StaleCr3Write, 2, "stale \"summary\"", 0x100b90, 0x100b80, 0x1000, 0x2000,
                  {0x2000, 0x3000}, 0, 0, 0};
    Finding livelock{FindingKind::FaultLivelock, 4, "livelock", 0x400123, 0, 0x1000, 0x5000, {}, 160, 9000, 27000};

    {
        HistoryWriter writer(file.path.string());
        writer.header("lazytlb-buggy.elf", "after-read:3", "kvm");
        writer.event(read);
        writer.event(write);
        writer.event(injection);
        writer.event(fault);
        writer.finding(stale);
        writer.finding(livelock);
        writer.verdict("fail", "guest exited 1");
    }

    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 8);

    const json& run = lines[0];
    CHECK(run["type"] == "run");
    CHECK(run["format"] == "cr3rig-history/1");
    CHECK(run["guest"] == "lazytlb-buggy.elf");
    CHECK(run["inject"] == "after-read:3");
    CHECK(run["backend"] == "kvm");

    const json& r = lines[1];
    CHECK(r["type"] == "cr3_read");
    CHECK(r["seq"] == 1);
    CHECK(r["rip"] == "0x100b81");
    CHECK(r["symbol"] == "read_cr3");
    CHECK(r["rsp"] == "0x7ff0");
    CHECK(r["cr3_before"] == "0x1000");
    CHECK(r["cr3_after"] == "0x1000");
    CHECK(r["value"] == "0x1000");
    CHECK(r["guest_ns"] == 100);
    CHECK(r["host_ns"] == 200);
    REQUIRE(r.contains("task"));
    CHECK(r["task"]["pid"] == 7);
    CHECK(r["task"]["name"] == "init");
    CHECK(r["active_mm_pgd"] == "0x1000");
    CHECK_FALSE(r.contains("mm_pgd"));

    const json& w = lines[2];
    CHECK(w["type"] == "cr3_write");
    CHECK(w["seq"] == 2);
    CHECK(w["rip"] == "0x100b82");
    CHECK(w["cr3_before"] == "0x1000");
    CHECK(w["cr3_after"] == "0x2000");
    CHECK(w["value"] == "0x2000");
    CHECK(w["cr3_after"] == w["value"]);
    REQUIRE(w.contains("task"));
    CHECK(w["task"]["pid"] == 8);
    CHECK(w["task"]["name"] == "worker \"b\"");
    CHECK(w["active_mm_pgd"] == "0x3000");
    CHECK(w["mm_pgd"] == "0x2000");

    const json& inj = lines[3];
    CHECK(inj["type"] == "injection");
    CHECK(inj["seq"] == 3);
    CHECK(inj["rip"] == "0x100b83");
    CHECK(inj["cr3_before"] == "0x1000");
    CHECK(inj["cr3_after"] == "0x1000");
    CHECK(inj["vector"] == 32);
    CHECK_FALSE(inj.contains("task"));
    CHECK_FALSE(inj.contains("active_mm_pgd"));

    const json& pf = lines[4];
    CHECK(pf["type"] == "page_fault");
    CHECK(pf["seq"] == 4);
    CHECK(pf["cr3_before"] == "0x1000");
    CHECK(pf["cr3_after"] == "0x1000");
    CHECK(pf["fault_rip"] == "0x400123");
    CHECK(pf["fault_addr"] == "0x401000");
    CHECK(pf["error_code"] == 6);
    CHECK(pf["mm_pgd"] == "0x5000");
    CHECK_FALSE(pf.contains("task"));

    const json& fs = lines[5];
    CHECK(fs["type"] == "finding");
    CHECK(fs["kind"] == "stale-cr3-write");
    CHECK(fs["seq"] == 2);
    CHECK(fs["summary"] == "stale \"summary\"");
    CHECK(fs["site"] == "0x100b90");
    CHECK(fs["read_site"] == "0x100b80");
    CHECK(fs["value"] == "0x1000");
    CHECK(fs["expected"] == "0x2000");
    CHECK(fs["writes_between"] == json::array({"0x2000", "0x3000"}));
    CHECK_FALSE(fs.contains("count"));

    const json& fl = lines[6];
    CHECK(fl["type"] == "finding");
    CHECK(fl["kind"] == "page-fault-livelock");
    CHECK(fl["seq"] == 4);
    CHECK(fl["site"] == "0x400123");
    CHECK(fl["value"] == "0x1000");
    CHECK(fl["expected"] == "0x5000");
    CHECK(fl["count"] == 160);
    CHECK(fl["guest_ns"] == 9000);
    CHECK(fl["host_ns"] == 27000);
    CHECK_FALSE(fl.contains("read_site"));
    CHECK_FALSE(fl.contains("writes_between"));

    const json& v = lines[7];
    CHECK(v["type"] == "verdict");
    CHECK(v["verdict"] == "fail");
    CHECK(v["reason"] == "guest exited 1");
}

TEST_CASE("a stale-write finding with no writes in between has an empty writes_between array")
{
    TempFile file("empty-between");
    {
        HistoryWriter writer(file.path.string());
        writer.finding(Finding{FindingKind::StaleCr3Write, 9, "s", 1, 2, 3, 4, {}, 0, 0, 0});
        writer.finding(Finding{FindingKind::Cr3NotActiveMm, 10, "m", 5, 0, 6, 7, {}, 0, 0, 0});
    }
    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 2);
    REQUIRE(lines[0].contains("writes_between"));
    CHECK(lines[0]["writes_between"].is_array());
    CHECK(lines[0]["writes_between"].empty());
    CHECK(lines[1]["kind"] == "cr3-not-active-mm");
    CHECK(lines[1]["value"] == "0x6");
    CHECK(lines[1]["expected"] == "0x7");
    CHECK_FALSE(lines[1].contains("read_site"));
    CHECK_FALSE(lines[1].contains("count"));
}

TEST_CASE("the verdict flushes the history to the file before the writer is destroyed")
{
    TempFile file("flush");
    HistoryWriter writer(file.path.string());
    writer.header("hello.elf", "none", "kvm");
    writer.event(event(EventKind::Cr3Read, 1));
    writer.verdict("pass", "guest exited 0");
    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["type"] == "run");
    CHECK(lines[1]["type"] == "cr3_read");
    CHECK(lines[2]["type"] == "verdict");
    CHECK(lines[2]["verdict"] == "pass");
}

TEST_CASE("many events are all written, each on its own line, in order")
{
    TempFile file("many");
    constexpr uint64_t kEvents = 5000;  // well past the writer's 64 KiB chunk
    {
        HistoryWriter writer(file.path.string());
        for (uint64_t i = 1; i <= kEvents; i++)
            writer.event(event(i % 2 ? EventKind::Cr3Read : EventKind::Cr3Write, i));
    }
    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == kEvents);
    for (uint64_t i = 0; i < kEvents; i++)
        if (lines[i]["seq"] != i + 1)
            FAIL_CHECK("line " << i << " has seq " << lines[i]["seq"]);
}

TEST_CASE("guest-supplied strings that are not UTF-8 are written, with replacement characters")
{
    TempFile file("utf8");
    {
        HistoryWriter writer(file.path.string());
        TrapEvent e = event(EventKind::Cr3Write, 1);
        e.task = TaskId{7, "ab\xff\xfe"};  // a name read from a confused guest
        e.symbol = "sym\x80";
        CHECK_NOTHROW(writer.event(e));
    }
    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0]["task"]["pid"] == 7);
    CHECK(lines[0]["task"]["name"].get<std::string>().rfind("ab", 0) == 0);
}

TEST_CASE("a history file that cannot be created throws BadInput")
{
    CHECK_THROWS_AS(HistoryWriter("/nonexistent/dir/x.jsonl"), BadInput);
    CHECK_THROWS_WITH(HistoryWriter("/nonexistent/dir/x.jsonl"), Catch::Contains("/nonexistent/dir/x.jsonl"));
}
