// The guests built into cr3rig: `cr3rig guests` lists each with one line saying what
// it is for (add_guest's DESCRIPTION in guest/CMakeLists.txt). It listed some with none.
#include <catch2/catch.hpp>

#include "vmm/embedded_guests.hpp"

using namespace cr3rig;

TEST_CASE("every builtin guest has a one-line description")
{
    REQUIRE_FALSE(embedded_guests().empty());
    for (const auto& g : embedded_guests()) {
        INFO("builtin:" << g.name << " (give it a DESCRIPTION in guest/CMakeLists.txt)");
        CHECK(g.description.size() >= 10);
        CHECK(g.description.find('\n') == std::string::npos);
        CHECK(g.description.find('\t') == std::string::npos);  // `guests` separates its columns with tabs
    }
    REQUIRE(find_embedded_guest("lazytlb-buggy"));
    CHECK_THAT(find_embedded_guest("lazytlb-buggy")->description, Catch::Contains("stale-pgd"));
}
