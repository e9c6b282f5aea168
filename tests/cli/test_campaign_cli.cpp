// Misused campaign, merge and replay options: a one-line error and exit 2, decided
// before any guest runs (so before KVM is touched).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "harness/run_command.hpp"
#include "tests/support/usage_error.hpp"

namespace {

std::string cli(const std::string& args) { return std::string(CR3RIG_BINARY) + " " + args; }

void check_usage_error(const std::string& args, const std::string& expected_text)
{
    cr3rig::testing::check_usage_error_of(cli(args), expected_text);
}

}  // namespace

TEST_CASE("campaign refuses negative, fractional and nan counts, sizes and times")
{
    const std::string guest = "campaign builtin:lazytlb-fixed ";
    for (const char* option : {"--max", "--random", "--jobs", "--preemptions", "--rig-clock", "--livelock-faults"}) {
        for (const char* value : {"-1", "nan", "1.5", "1e3"})
            check_usage_error(guest + option + " " + value, "is not a whole number");
    }
    check_usage_error(guest + "--time nan", "is not a finite number");
    check_usage_error(guest + "--time inf", "is not a finite number");
    check_usage_error(guest + "--time -1", "--time");
    check_usage_error(guest + "--timeout nan", "--timeout");
    check_usage_error(guest + "--timeout 0", "--timeout");
    check_usage_error(guest + "--timeout -5s", "--timeout");
    check_usage_error(guest + "--rig-clock 0", "--rig-clock");
    check_usage_error("replay cr3rig1-0123456789abcdef-1-0-32-16 builtin:lazytlb-fixed --timeout nan", "--timeout");
}

TEST_CASE("campaign --out that cannot be a results directory is refused before anything runs")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-campaign-out";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "a-file") << "x";
    // Each would otherwise run the whole campaign first (on a host without KVM: fail
    // on KVM instead of on --out).
    check_usage_error("campaign builtin:lazytlb-buggy --out " + (dir / "a-file").string(), "is not a directory");
    check_usage_error("campaign builtin:lazytlb-buggy --out /dev/null", "--out /dev/null is not a directory");
    check_usage_error("campaign builtin:lazytlb-buggy --out /proc/cr3rig-out", "cannot create --out /proc/cr3rig-out");
    check_usage_error("campaign builtin:lazytlb-buggy --out " + (dir / "a-file" / "below").string(), "--out");
    std::filesystem::remove_all(dir);
}

TEST_CASE("replay refuses a token with a clock no campaign runs on")
{
    check_usage_error("replay cr3rig1-0123456789abcdef-1-0-0-16 builtin:lazytlb-fixed", "host time");
    check_usage_error("replay cr3rig1-0123456789abcdef-1-0-8589934592-16 builtin:lazytlb-fixed", "rig clock");
    check_usage_error("replay cr3rig1-0123456789abcdef-1-0-32-1099511627777 builtin:lazytlb-fixed", "livelock");
}

TEST_CASE("merge refuses a directory of results without their summary")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-merge-old";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "schedules-1-of-1.jsonl") << "";
    check_usage_error("merge " + dir.string(), "has no summary-1-of-1.json");
    std::filesystem::remove_all(dir);
}
