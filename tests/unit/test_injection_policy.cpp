// InjectionPolicy: parsing of --inject texts, the injection decisions of each mode,
// determinism of the random mode, and the one-line errors for bad texts.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "traps/injection_policy.hpp"

using namespace cr3rig;

namespace {

std::vector<bool> decisions(InjectionPolicy policy, int calls)
{
    std::vector<bool> out;
    for (int i = 0; i < calls; i++)
        out.push_back(policy.should_inject());
    return out;
}

int injections(const std::string& text, int calls)
{
    int n = 0;
    for (bool b : decisions(InjectionPolicy::parse(text), calls))
        n += b;
    return n;
}

// The message of the BadInput that parsing `text` throws, or "(accepted)".
std::string parse_error(const std::string& text)
{
    try {
        InjectionPolicy::parse(text);
    } catch (const BadInput& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

TEST_CASE("none only traps and never injects")
{
    auto p = InjectionPolicy::parse("none");
    CHECK(p.traps_only());
    CHECK(p.delay() == 0);
    CHECK(p.text() == "none");
    CHECK(injections("none", 100) == 0);
}

TEST_CASE("a default-constructed policy is none")
{
    InjectionPolicy p;
    CHECK(p.traps_only());
    CHECK(p.text() == "none");
    CHECK_FALSE(p.should_inject());
}

TEST_CASE("after-read injects after every read with no delay")
{
    auto p = InjectionPolicy::parse("after-read");
    CHECK_FALSE(p.traps_only());
    CHECK(p.delay() == 0);
    CHECK(injections("after-read", 100) == 100);
}

TEST_CASE("after-read:K injects after every read, K instructions later")
{
    auto p = InjectionPolicy::parse("after-read:3");
    CHECK_FALSE(p.traps_only());
    CHECK(p.delay() == 3);
    CHECK(injections("after-read:3", 50) == 50);
    CHECK(InjectionPolicy::parse("after-read:0").delay() == 0);
    CHECK(InjectionPolicy::parse("after-read:1000").delay() == 1000);
}

TEST_CASE("nth:N injects only on the N-th read")
{
    auto p = InjectionPolicy::parse("nth:3");
    CHECK_FALSE(p.traps_only());
    CHECK(p.delay() == 0);
    CHECK(decisions(p, 8) == std::vector<bool>{false, false, true, false, false, false, false, false});
    CHECK(decisions(InjectionPolicy::parse("nth:1"), 3) == std::vector<bool>{true, false, false});
}

TEST_CASE("random:SEED is deterministic for a seed and differs between seeds")
{
    auto a = decisions(InjectionPolicy::parse("random:42"), 1000);
    auto b = decisions(InjectionPolicy::parse("random:42"), 1000);
    auto other = decisions(InjectionPolicy::parse("random:43"), 1000);
    CHECK(a == b);
    CHECK(a != other);
    CHECK_FALSE(InjectionPolicy::parse("random:42").traps_only());

    auto p1 = decisions(InjectionPolicy::parse("random:42:0.25"), 1000);
    auto p2 = decisions(InjectionPolicy::parse("random:42:0.25"), 1000);
    CHECK(p1 == p2);
    CHECK(p1 != decisions(InjectionPolicy::parse("random:7:0.25"), 1000));
}

TEST_CASE("random:SEED:P injects with probability P")
{
    CHECK(injections("random:1:0", 1000) == 0);
    CHECK(injections("random:1:1", 1000) == 1000);

    int quarter = injections("random:42:0.25", 10000);
    CHECK(quarter > 2000);
    CHECK(quarter < 3000);

    int half = injections("random:42", 10000);  // P defaults to 0.5
    CHECK(half > 4500);
    CHECK(half < 5500);
}

TEST_CASE("text() returns the policy as given")
{
    for (std::string text : {"none", "after-read", "after-read:3", "nth:3", "random:42", "random:42:0.25"})
        CHECK(InjectionPolicy::parse(text).text() == text);
}

TEST_CASE("bad policy texts throw BadInput naming the text")
{
    for (std::string text : {"", "bogus", "nth", "nth:0", "nth:x", "nth:-1", "nth:3x", "after-read:x",
                             "after-read:", "after-read:2000", "after-read:-1", "random", "random:",
                             "random:x", "random:1:2", "random:1:-0.5", "random:1:", "random:1:x", "random:1:nan", "random:1:NaN", "none:1"}) {
        INFO("--inject '" << text << "'");
        CHECK_THROWS_AS(InjectionPolicy::parse(text), BadInput);
        CHECK_THAT(parse_error(text), Catch::StartsWith("--inject " + text + ":"));
    }
}

TEST_CASE("bad policy messages give the reason")
{
    CHECK_THAT(parse_error("bogus"), Catch::Contains("unknown policy"));
    CHECK_THAT(parse_error("nth:0"), Catch::Contains("N must be a positive number"));
    CHECK_THAT(parse_error("after-read:2000"), Catch::Contains("from 0 to 1000"));
    CHECK_THAT(parse_error("random:x"), Catch::Contains("SEED must be a number"));
    CHECK_THAT(parse_error("random:1:2"), Catch::Contains("P must be a probability"));
}

TEST_CASE("nth with several points preempts after each of those reads, each with its own delay")
{
    auto p = InjectionPolicy::parse("nth:2:3,5,7:1");
    std::vector<std::pair<bool, unsigned>> seen;
    for (int i = 0; i < 8; i++) {
        bool inject = p.should_inject();
        seen.emplace_back(inject, inject ? p.delay() : 0);
    }
    std::vector<std::pair<bool, unsigned>> expected{{false, 0}, {true, 3}, {false, 0}, {false, 0},
                                                    {true, 0},  {false, 0}, {true, 1}, {false, 0}};
    CHECK(seen == expected);
}

TEST_CASE("nth with several points refuses reads that do not increase and empty points")
{
    CHECK_THAT(parse_error("nth:3,2"), Catch::Contains("must increase"));
    CHECK_THAT(parse_error("nth:3,3"), Catch::Contains("must increase"));
    CHECK_THAT(parse_error("nth:3,"), Catch::Contains("N must be a positive number"));
    CHECK_THAT(parse_error("nth:1:2,x"), Catch::Contains("N must be a positive number"));
    CHECK_THAT(parse_error("nth:1:2,4:2000"), Catch::Contains("K must be"));
}
