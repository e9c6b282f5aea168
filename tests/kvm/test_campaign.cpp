// Campaigns on real KVM: they find the race's schedules on the buggy kernel, none on
// the fixed one, replay tokens reproduce their finding every time, and shards merge
// into the unsharded result.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "campaign/campaign_runner.hpp"
#include "harness/run_command.hpp"
#include "vmm/elf_loader.hpp"

using namespace cr3rig;
using cr3rig::testing::run_command;

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("cr3rig-campaign-" + name))
    {
        std::filesystem::remove_all(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// (token, signature) of each group line of a campaign/merge table.
std::vector<std::pair<std::string, std::string>> groups_of(const std::string& output)
{
    std::vector<std::pair<std::string, std::string>> out;
    std::regex line(R"(^ *\d+ +nth:[\d:,]+ +(cr3rig1-\S+) +(.+)$)");
    std::istringstream in(output);
    for (std::string l; std::getline(in, l);) {
        std::smatch m;
        if (std::regex_match(l, m, line))
            out.emplace_back(m[1], m[2]);
    }
    return out;
}

}  // namespace

TEST_CASE("a campaign on lazytlb-buggy finds and groups the race, and each token replays it 100 times of 100")
{
    TempDir dir("buggy");
    auto r = run_command(cli("campaign builtin:lazytlb-buggy -j 2 --out " + dir.path.string()));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(std::filesystem::exists(dir.path / "schedules-1-of-1.jsonl"));
    // --out also draws each finding group's first schedule as a report.
    CHECK_THAT(r.output, Catch::Contains("report of group 1 (nth:1:0): " + (dir.path / "group-1.html").string()));
    std::string report = cr3rig::testing::read_file((dir.path / "group-1.html").string());
    CHECK_THAT(report, Catch::Contains("stale-cr3-write"));
    CHECK_THAT(report, Catch::Contains("<svg"));
    auto groups = groups_of(r.output);
    REQUIRE(groups.size() >= 2);
    for (size_t g = 0; g < groups.size(); g++)  // a report per group with findings, none for the clean one
        CHECK(std::filesystem::exists(dir.path / ("group-" + std::to_string(g + 1) + ".html")) ==
              (groups[g].second != "clean"));
    std::vector<std::pair<std::string, std::string>> with_findings;
    for (const auto& g : groups)
        if (g.second != "clean")
            with_findings.push_back(g);
    REQUIRE(!with_findings.empty());
    bool stale_and_livelock = false;
    for (const auto& g : with_findings)
        stale_and_livelock |= g.second.find("stale-cr3-write") != std::string::npos &&
                              g.second.find("page-fault-livelock") != std::string::npos;
    CHECK(stale_and_livelock);

    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/lazytlb-buggy.elf");
    for (const auto& [token_text, sig] : with_findings) {
        ReplayToken token = ReplayToken::decode(token_text);
        CHECK(token.guest_hash == content_hash(image.bytes()));
        CampaignOptions options;
        options.rig_clock = token.rig_clock;
        options.livelock_faults = token.livelock_faults;
        int reproduced = 0;
        for (int i = 0; i < 100; i++)
            reproduced += run_schedule(image, token.schedule, options, 0).signature == sig;
        INFO(token_text << " " << sig);
        CHECK(reproduced == 100);
    }
}

TEST_CASE("a campaign on lazytlb-fixed passes every schedule and says how many")
{
    auto r = run_command(cli("campaign builtin:lazytlb-fixed -j 2"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    auto groups = groups_of(r.output);
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].second == "clean");
    std::smatch m;
    REQUIRE(std::regex_search(r.output, m, std::regex(R"((\d+) of (\d+) schedules run)")));
    CHECK(m[1] == m[2]);
    CHECK(std::stoi(m[1]) >= 3);
}

TEST_CASE("with two preemptions per run, clean runs are extended at every later read and offset")
{
    TempDir dir("pairs");
    auto r = run_command(cli("campaign builtin:lazytlb-fixed --preemptions 2 --max 2 -j 2 --out " + dir.path.string()));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(r.output, m, std::regex(R"((\d+) of 2 schedules and (\d+) with up to 2 preemptions)")));
    CHECK(m[1] == "2");
    size_t extended = std::stoul(m[2]);
    CHECK(extended >= 4);  // at least two later reads with a window of one or more, per root

    std::ifstream in(dir.path / "schedules-1-of-1.jsonl");
    std::vector<ScheduleResult> results;
    for (std::string line; std::getline(in, line);)
        results.push_back(ScheduleResult::from_json_line(line));
    REQUIRE(results.size() == 2 + extended);
    std::string pair_token;
    for (const auto& result : results) {
        CHECK(result.verdict == VerdictKind::Pass);
        if (result.sub == 0) {
            CHECK(result.schedule.injections.size() == 1);
            continue;
        }
        REQUIRE(result.schedule.injections.size() == 2);
        CHECK(result.schedule.injections[0].read == 1);  // --max 2: the two roots preempt read 1
        CHECK(result.schedule.injections[1].read > 1);
        pair_token = result.token;
    }
    auto replay = run_command(cli("replay " + pair_token + " builtin:lazytlb-fixed"));
    INFO(replay.output);
    CHECK(replay.exit_code == 0);
    CHECK_THAT(replay.output, Catch::Contains("nth:1:"));
    CHECK_THAT(replay.output, Catch::Contains(": PASS (clean)"));
}

TEST_CASE("shards 1/3, 2/3 and 3/3 merged equal the unsharded campaign, and so does --jobs")
{
    TempDir all("all"), s1("s1"), s2("s2"), s3("s3");
    std::string guest = "builtin:lazytlb-buggy";
    REQUIRE(run_command(cli("campaign " + guest + " -j 1 --out " + all.path.string())).exit_code == 1);
    int k = 1;
    for (const auto* dir : {&s1, &s2, &s3})
        run_command(cli("campaign " + guest + " -j 2 --shard " + std::to_string(k++) + "/3 --out " +
                        dir->path.string()));
    auto merged_all = run_command(cli("merge " + all.path.string()));
    auto merged_shards =
        run_command(cli("merge " + s1.path.string() + " " + s2.path.string() + " " + s3.path.string()));
    INFO(merged_all.output << "\n----\n" << merged_shards.output);
    CHECK(merged_all.exit_code == 1);
    CHECK(merged_shards.exit_code == 1);
    CHECK(!groups_of(merged_all.output).empty());
    CHECK(merged_shards.output == merged_all.output);
}

TEST_CASE("schedules run from the snapshot give the same results as in fresh VMs")
{
    TempDir snap("snapshot"), fresh("fresh");
    run_command(cli("campaign builtin:lazytlb-buggy -j 2 --out " + snap.path.string()));
    run_command(cli("campaign builtin:lazytlb-buggy -j 2 --fresh --out " + fresh.path.string()));
    auto a = run_command(cli("merge " + snap.path.string()));
    auto b = run_command(cli("merge " + fresh.path.string()));
    INFO(a.output << "\n----\n" << b.output);
    CHECK(groups_of(a.output).size() >= 2);
    CHECK(a.output == b.output);
}

TEST_CASE("cr3rig replay reruns one schedule and refuses a token for another guest")
{
    auto r = run_command(cli("campaign builtin:lazytlb-buggy --max 1"));
    auto groups = groups_of(r.output);
    REQUIRE(groups.size() == 1);
    auto replay = run_command(cli("replay " + groups[0].first + " builtin:lazytlb-buggy"));
    INFO(replay.output);
    CHECK(replay.exit_code == 1);
    CHECK_THAT(replay.output, Catch::Contains(groups[0].second));
    auto other = run_command(cli("replay " + groups[0].first + " builtin:lazytlb-fixed"));
    CHECK(other.exit_code == 2);
    CHECK_THAT(other.output, Catch::Contains("made for another guest"));
    auto bad = run_command(cli("replay not-a-token builtin:lazytlb-buggy"));
    CHECK(bad.exit_code == 2);
}
