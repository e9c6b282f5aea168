// A CR3 history that cannot be written ends the run with the file named, instead of
// the run going on with a history that silently stopped (--trace /dev/full).
#include <catch2/catch.hpp>

#include <filesystem>

#include "traps/history_writer.hpp"

using namespace cr3rig;

TEST_CASE("a history write that fails throws HistoryWriteError naming the file")
{
    REQUIRE(std::filesystem::exists("/dev/full"));  // every Linux has it: a write that fails with ENOSPC
    HistoryWriter writer("/dev/full");
    writer.header("builtin:hello", "none", "test");
    CHECK_THROWS_WITH(writer.flush(), Catch::Contains("/dev/full") && Catch::Contains("No space left"));
    writer.header("builtin:hello", "none", "test");
    CHECK_THROWS_AS(writer.verdict("PASS", "guest exit code 0"), HistoryWriteError);
    CHECK_NOTHROW(writer.flush());  // a failed chunk is dropped, so the destructor does not throw
}
