// Campaign bookkeeping without KVM: schedules, shards, replay tokens, signatures,
// result lines and grouping.
#include <catch2/catch.hpp>
#include <algorithm>
#include <set>

#include "campaign/campaign.hpp"
#include "common/errors.hpp"
#include "tests/support/schedule_results.hpp"

using namespace cr3rig;

namespace {

Finding finding(FindingKind kind, uint64_t site, uint64_t other = 0, bool unresolved = false)
{
    Finding f{kind, 1, "summary", site, other, 0, 0, {}, 0, 0, 0};
    f.unresolved = unresolved;
    return f;
}

ScheduleResult result(size_t index, VerdictKind verdict, const std::string& signature)
{
    return testing::made_up_result(index, verdict, signature);
}

}  // namespace

TEST_CASE("schedules: every offset inside each read's window, offset 0 when there is no write")
{
    auto s = enumerate_schedules({3, 0, 2});
    std::vector<Schedule> expected{{1, 0}, {1, 1}, {1, 2}, {2, 0}, {3, 0}, {3, 1}};
    CHECK(s == expected);
    CHECK(s[2].policy() == "nth:1:2");
    CHECK(enumerate_schedules({}).empty());
}

TEST_CASE("shards are disjoint, deterministic, and together cover everything")
{
    CHECK(shard_indices(10, 2, 3) == std::vector<size_t>{1, 4, 7});
    std::multiset<size_t> all;
    for (unsigned k = 1; k <= 3; k++)
        for (size_t i : shard_indices(10, k, 3))
            all.insert(i);
    CHECK(all.size() == 10);
    CHECK(std::set<size_t>(all.begin(), all.end()).size() == 10);
    CHECK(shard_indices(10, 1, 1).size() == 10);
    CHECK(shard_indices(2, 3, 3).empty());
}

TEST_CASE("shard text K/N is parsed or refused with a one-line reason")
{
    CHECK(parse_shard("2/3") == std::pair<unsigned, unsigned>{2, 3});
    for (const char* bad : {"", "1", "0/3", "4/3", "a/b", "1/0", "1/2/3", "-1/2"})
        CHECK_THROWS_AS(parse_shard(bad), BadInput);
}

TEST_CASE("replay tokens round-trip and refuse malformed text")
{
    ReplayToken t{0x0123456789abcdefull, {7, 3}, 32, 16};
    std::string text = t.encode();
    CHECK(text == "cr3rig1-0123456789abcdef-7-3-32-16");
    ReplayToken back = ReplayToken::decode(text);
    CHECK(back.guest_hash == t.guest_hash);
    CHECK(back.schedule == t.schedule);
    CHECK(back.rig_clock == 32);
    CHECK(back.livelock_faults == 16);
    for (const char* bad : {"", "cr3rig1", "cr3rig2-0123456789abcdef-7-3-32-16", "cr3rig1-0123-7-3-32-16",
                            "cr3rig1-0123456789abcdeg-7-3-32-16", "cr3rig1-0123456789abcdef-0-3-32-16",
                            "cr3rig1-0123456789abcdef-7-x-32-16", "cr3rig1-0123456789abcdef-7-3-32-1",
                            "cr3rig1-0123456789abcdef-7-3-32-16-9"})
        CHECK_THROWS_AS(ReplayToken::decode(bad), BadInput);
}

TEST_CASE("a forced trap backend goes into the token and auto stays out of it")
{
    ReplayToken t{0x0123456789abcdefull, {7, 3}, 32, 16, TrapBackend::PatchedPort};
    CHECK(t.encode() == "cr3rig1-0123456789abcdef-7-3-32-16-port");
    CHECK(ReplayToken::decode(t.encode()).backend == TrapBackend::PatchedPort);
    CHECK(ReplayToken::decode("cr3rig1-0123456789abcdef-7-3-32-16").backend == TrapBackend::Auto);
    for (const char* bad : {"cr3rig1-0123456789abcdef-7-3-32-16-auto", "cr3rig1-0123456789abcdef-7-3-32-16-",
                            "cr3rig1-0123456789abcdef-7-3-32-16-port-int3"})
        CHECK_THROWS_AS(ReplayToken::decode(bad), BadInput);
}

TEST_CASE("replay tokens of several preemptions join reads and delays with dots")
{
    ReplayToken t{0x0123456789abcdefull, Schedule({{2, 0}, {5, 3}}), 32, 16};
    CHECK(t.encode() == "cr3rig1-0123456789abcdef-2.5-0.3-32-16");
    CHECK(ReplayToken::decode(t.encode()).schedule == t.schedule);
    CHECK(t.schedule.policy() == "nth:2:0,5:3");
    for (const char* bad : {"cr3rig1-0123456789abcdef-2.5-0-32-16", "cr3rig1-0123456789abcdef-5.2-0.0-32-16",
                            "cr3rig1-0123456789abcdef-2.2-0.0-32-16", "cr3rig1-0123456789abcdef-2.-0.-32-16",
                            "cr3rig1-0123456789abcdef-1.2.3.4.5-0.0.0.0.0-32-16"})
        CHECK_THROWS_AS(ReplayToken::decode(bad), BadInput);
}

TEST_CASE("extensions add one preemption at every later read and offset of the parent's run")
{
    // The parent preempted read 2; in its run reads 3 and 4 had windows 2 and 0.
    auto children = extensions(Schedule(2, 1), {6, 6, 2, 0});
    std::vector<Schedule> expected{Schedule({{2, 1}, {3, 0}}), Schedule({{2, 1}, {3, 1}}), Schedule({{2, 1}, {4, 0}})};
    CHECK(children == expected);
    CHECK(extensions(Schedule(4, 0), {6, 6, 2, 0}).empty());
}

namespace {

// A fake guest for explore(): a schedule fails when it preempts read 1 and then read
// 3; every run has four reads with a window of two instructions each.
ScheduleResult fake_run(const Schedule& s, size_t sub)
{
    ScheduleResult r;
    r.schedule = s;
    r.sub = sub;
    bool bad = s.injections.size() == 2 && s.injections[0].read == 1 && s.injections[1].read == 3;
    r.verdict = bad ? VerdictKind::Fail : VerdictKind::Pass;
    r.signature = bad ? "stale" : "clean";
    r.windows = {2, 2, 2, 2};
    return r;
}

}  // namespace

TEST_CASE("explore runs a root and, depth first, the extensions of clean runs up to the bound")
{
    std::vector<ScheduleResult> seen;
    auto emit = [&](const ScheduleResult& r) {
        seen.push_back(r);
        return true;
    };
    explore(Schedule(1, 0), 1, fake_run, emit);
    REQUIRE(seen.size() == 1);  // a bound of one preemption: the root only

    seen.clear();
    explore(Schedule(1, 0), 2, fake_run, emit);
    // Reads 2, 3 and 4, two offsets each, after the root.
    REQUIRE(seen.size() == 7);
    CHECK(seen[0].schedule == Schedule(1, 0));
    CHECK(seen[1].schedule == Schedule({{1, 0}, {2, 0}}));
    CHECK(seen[3].schedule == Schedule({{1, 0}, {3, 0}}));
    CHECK(seen[3].signature == "stale");
    for (size_t i = 0; i < seen.size(); i++)
        CHECK(seen[i].sub == i);

    // Failing runs are not extended: with three preemptions, only the clean pairs grow.
    seen.clear();
    explore(Schedule(1, 0), 3, fake_run, emit);
    size_t triples = std::count_if(seen.begin(), seen.end(), [](const auto& r) { return r.schedule.injections.size() == 3; });
    // (1,2:k) -> reads 3, 4: 4 each, 2 offsets of read 2; (1,3:k) fail; (1,4:k) -> none.
    CHECK(triples == 8);
    CHECK(seen.size() == 1 + 6 + 8);

    // emit saying stop ends the exploration at once.
    seen.clear();
    explore(Schedule(1, 0), 2, fake_run, [&](const ScheduleResult& r) {
        seen.push_back(r);
        return seen.size() < 3;
    });
    CHECK(seen.size() == 3);
}

TEST_CASE("content_hash is FNV-1a 64")
{
    CHECK(content_hash({}) == 0xcbf29ce484222325ull);
    CHECK(content_hash({'a'}) == 0xaf63dc4c8601ec8cull);
}

TEST_CASE("a signature names kinds and sites once each, in order, and none is clean")
{
    CHECK(signature({}) == "clean");
    auto sig = signature({finding(FindingKind::StaleCr3Write, 0x20, 0x10), finding(FindingKind::Cr3NotActiveMm, 0x20),
                          finding(FindingKind::StaleCr3Write, 0x20, 0x10),
                          finding(FindingKind::FaultLivelock, 0x30, 0, true)});
    CHECK(sig == "stale-cr3-write(write 0x20, read 0x10) + cr3-not-active-mm(0x20) + page-fault-livelock(0x30, unresolved)");
    CHECK(signature({finding(FindingKind::FaultLivelock, 0x30)}) == "page-fault-livelock(0x30)");
}

TEST_CASE("result lines round-trip, and other lines are bad input")
{
    ScheduleResult r = result(4, VerdictKind::Fail, "stale-cr3-write(write 0x20, read 0x10)");
    r.findings = {"stale-cr3-write: at write_cr3", "x"};
    r.ms = 12.5;
    ScheduleResult back = ScheduleResult::from_json_line(r.to_json_line());
    CHECK(back.index == 4);
    CHECK(back.sub == 0);
    CHECK(back.schedule == r.schedule);
    r.sub = 3;
    r.schedule = Schedule({{1, 2}, {4, 0}});
    back = ScheduleResult::from_json_line(r.to_json_line());
    CHECK(back.sub == 3);
    CHECK(back.schedule == r.schedule);
    CHECK(back.token == "t4");
    CHECK(back.verdict == VerdictKind::Fail);
    CHECK(back.signature == r.signature);
    CHECK(back.findings == r.findings);
    CHECK(back.ms == 12.5);
    CHECK_THROWS_AS(ScheduleResult::from_json_line("{}"), BadInput);
    CHECK_THROWS_AS(ScheduleResult::from_json_line("not json"), BadInput);
    std::string line = r.to_json_line();
    line.replace(line.find("\"FAIL\""), 6, "\"MAYBE\"");
    CHECK_THROWS_WITH(ScheduleResult::from_json_line(line), Catch::Contains("unknown verdict 'MAYBE'"));
}

TEST_CASE("grouping counts by signature, keeps the first schedule, separates failures without findings")
{
    const auto pass = VerdictKind::Pass, fail = VerdictKind::Fail, crash = VerdictKind::Crash;
    auto groups = group_results({result(5, pass, "clean"), result(1, fail, "A"), result(3, fail, "A"),
                                 result(2, fail, "clean"), result(4, crash, "A"), result(0, pass, "clean")});
    REQUIRE(groups.size() == 4);
    CHECK(groups[0].signature == "clean");  // index 0 first
    CHECK(groups[0].count == 2);
    CHECK(groups[0].first.index == 0);
    CHECK(groups[1].signature == "A");
    CHECK(groups[1].count == 2);
    CHECK(groups[1].first.index == 1);
    CHECK(groups[2].signature == "no finding, FAIL");
    CHECK(groups[3].signature == "A [CRASH]");
}

TEST_CASE("a skipped schedule is grouped apart from the clean passes")
{
    // A guest that writes 77 to the debug-exit port: verdict SKIP, no finding.
    auto groups = group_results({result(0, VerdictKind::Pass, "clean"), result(1, VerdictKind::Skip, "clean"),
                                 result(2, VerdictKind::Skip, "clean")});
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].signature == "clean");
    CHECK(groups[0].count == 1);
    CHECK(groups[1].signature == "no finding, SKIP");
    CHECK(groups[1].count == 2);
}

TEST_CASE("a campaign exits 1 for findings, else 3 for crashes, else 124 for timeouts, as one schedule's replay")
{
    const auto pass = VerdictKind::Pass, fail = VerdictKind::Fail, crash = VerdictKind::Crash,
               timeout = VerdictKind::Timeout;
    CHECK(campaign_exit_code({result(0, pass, "clean")}) == 0);
    CHECK(campaign_exit_code({result(0, pass, "clean"), result(1, timeout, "clean")}) == 124);
    CHECK(campaign_exit_code({result(0, timeout, "clean"), result(1, crash, "clean")}) == 3);
    CHECK(campaign_exit_code({result(0, timeout, "clean"), result(1, crash, "clean"), result(2, fail, "A")}) == 1);
    for (auto kind : {pass, fail, crash, timeout})
        CHECK(campaign_exit_code({result(0, kind, kind == fail ? "A" : "clean")}) == exit_code_of(kind));
}

TEST_CASE("replay tokens refuse a clock or livelock threshold no campaign runs with")
{
    CHECK(ReplayToken::decode("cr3rig1-0123456789abcdef-7-3-1-2").rig_clock == 1);
    CHECK(ReplayToken::decode("cr3rig1-0123456789abcdef-7-3-4294967296-1099511627776").livelock_faults ==
          uint64_t{1} << 40);
    CHECK_THROWS_WITH(ReplayToken::decode("cr3rig1-0123456789abcdef-7-3-0-16"), Catch::Contains("host time"));
    CHECK_THROWS_WITH(ReplayToken::decode("cr3rig1-0123456789abcdef-7-3-4294967297-16"),
                      Catch::Contains("rig clock 4294967297"));
    CHECK_THROWS_WITH(ReplayToken::decode("cr3rig1-0123456789abcdef-7-3-32-1099511627777"),
                      Catch::Contains("livelock threshold"));
}
