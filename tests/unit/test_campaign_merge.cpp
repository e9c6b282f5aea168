// Merging campaign shards without KVM: the --out files written as a campaign writes
// them, then read back. Only the shards of one campaign merge, all of them, in any
// order; an interrupted shard says so.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "campaign/merge.hpp"
#include "campaign/out_dir.hpp"
#include "common/errors.hpp"
#include "tests/support/schedule_results.hpp"

using namespace cr3rig;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name) : path(fs::temp_directory_path() / ("cr3rig-unit-merge-" + name))
    {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string sub(const std::string& name) const { return (path / name).string(); }
};

ShardSummary summary_of(unsigned k, unsigned n, uint64_t hash = 0x1234, const std::string& rig_clock = "32")
{
    ShardSummary s;
    s.guest = "builtin:g";
    s.guest_hash = hash;
    s.shard_k = k;
    s.shard_n = n;
    s.settings = {{"rig_clock", rig_clock}, {"schedules", "4"}};
    s.schedules = 4 / n;
    return s;
}

// Writes shard K of N with the results at `indices` (index 1: a finding), complete.
void write_shard(const std::string& dir, ShardSummary summary, const std::vector<size_t>& indices)
{
    fs::create_directories(dir);
    ShardOutput out(dir, summary);
    std::vector<ScheduleResult> results;
    for (size_t i : indices)
        results.push_back(i == 1 ? testing::made_up_result(i, VerdictKind::Fail, "A") : testing::made_up_result(i, VerdictKind::Pass, "clean"));
    for (const auto& r : results)
        out.add(r);
    summary.roots_run = summary.runs = results.size();
    summary.complete = true;
    out.finish(results, summary);
}

}  // namespace

TEST_CASE("merge combines every shard of one campaign, the same in any order")
{
    TempDir t("order");
    write_shard(t.sub("a"), summary_of(1, 2), {0, 2});
    write_shard(t.sub("b"), summary_of(2, 2), {1, 3});
    auto ab = merge_results({t.sub("a"), t.sub("b")});
    auto ba = merge_results({t.sub("b"), t.sub("a")});
    REQUIRE(ab.results.size() == 4);
    CHECK(ab.incomplete.empty());
    for (size_t i = 0; i < 4; i++) {
        CHECK(ab.results[i].index == i);
        CHECK(ab.results[i].to_json_line() == ba.results[i].to_json_line());
    }
    CHECK(campaign_exit_code(ab.results) == 1);
}

TEST_CASE("merge refuses shards of other guests or settings, a shard twice, and names missing shards")
{
    TempDir t("mixtures");
    write_shard(t.sub("one"), summary_of(1, 2), {0, 2});
    write_shard(t.sub("other-guest"), summary_of(2, 2, 0x9999), {1, 3});
    write_shard(t.sub("other-clock"), summary_of(2, 2, 0x1234, "64"), {1, 3});
    write_shard(t.sub("again"), summary_of(1, 2), {0, 2});
    write_shard(t.sub("of-three"), summary_of(2, 3), {1});
    CHECK_THROWS_WITH(merge_results({t.sub("other-guest"), t.sub("one")}), Catch::Contains("another image"));
    CHECK_THROWS_WITH(merge_results({t.sub("one"), t.sub("other-clock")}), Catch::Contains("rig_clock 32 vs 64"));
    CHECK_THROWS_WITH(merge_results({t.sub("one"), t.sub("again")}), Catch::Contains("the same shard"));
    CHECK_THROWS_WITH(merge_results({t.sub("one"), t.sub("of-three")}), Catch::Contains("2 vs 3 shards"));
    CHECK_THROWS_WITH(merge_results({t.sub("one")}), Catch::Contains("shard 2/2 missing"));
    CHECK_THROWS_AS(merge_results({t.sub("nothing-here")}), BadInput);
}

TEST_CASE("a results file without its summary is not merged")
{
    TempDir t("no-summary");
    write_shard(t.sub("a"), summary_of(1, 1), {0});
    fs::remove(t.path / "a" / summary_file_name(1, 1));
    CHECK_THROWS_WITH(merge_results({t.sub("a")}), Catch::Contains("has no summary-1-of-1.json"));
}

TEST_CASE("an interrupted shard leaves valid files that merge as incomplete")
{
    TempDir t("interrupted");
    ShardSummary planned = summary_of(1, 1);
    {
        ShardOutput out(t.sub(""), planned);  // a campaign stopped after one result
        out.add(testing::made_up_result(0, VerdictKind::Pass, "clean"));
    }
    auto merged = merge_results({t.sub("")});
    CHECK(merged.results.size() == 1);
    REQUIRE(merged.incomplete.size() == 1);
    CHECK_THAT(merged.incomplete[0], Catch::Contains("shard 1/1") && Catch::Contains("did not finish"));
}

TEST_CASE("campaign --out must be a directory that takes files, checked before anything runs")
{
    TempDir t("check");
    std::ofstream(t.path / "a-file") << "x";
    CHECK_THROWS_WITH(check_out_dir(t.sub("a-file")), Catch::Contains("is not a directory"));
    CHECK_THROWS_WITH(check_out_dir("/dev/null"), Catch::Contains("is not a directory"));
    CHECK_THROWS_AS(check_out_dir("/proc/cr3rig-out"), BadInput);
    CHECK_NOTHROW(check_out_dir(t.sub("new/deeper")));
    CHECK(fs::is_directory(t.path / "new" / "deeper"));
    CHECK(fs::is_empty(t.path / "new" / "deeper"));  // the probe is gone
}
