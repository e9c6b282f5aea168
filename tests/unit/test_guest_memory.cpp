// Bounds checks of guest-physical accesses.
#include <catch2/catch.hpp>

#include "common/errors.hpp"
#include "vmm/guest_memory.hpp"

using namespace cr3rig;

TEST_CASE("guest memory accessors refuse out-of-range and overflowing ranges")
{
    GuestMemory memory(1 << 20);
    CHECK(memory.contains(0, 1 << 20));
    CHECK(memory.contains(1 << 20, 0));
    CHECK_FALSE(memory.contains(1, 1 << 20));
    CHECK_FALSE(memory.contains(UINT64_MAX, 2));  // gpa + len wraps around
    CHECK_FALSE(memory.contains(16, UINT64_MAX));
    CHECK_THROWS_AS(memory.span(UINT64_MAX - 1, 4), GuestAccessError);
    CHECK_THROWS_AS(memory.read<uint64_t>((1 << 20) - 4), GuestAccessError);
    CHECK_NOTHROW(memory.read<uint32_t>((1 << 20) - 4));
}

TEST_CASE("read_cstring stops at NUL, at max_len and at the end of memory")
{
    GuestMemory memory(1 << 20);
    const char text[] = "guest/tests/fail.c";
    memory.write_bytes(0x1000, {reinterpret_cast<const uint8_t*>(text), sizeof text});
    CHECK(memory.read_cstring(0x1000, 256) == "guest/tests/fail.c");
    CHECK(memory.read_cstring(0x1000, 5) == "guest");

    memory.write_bytes((1 << 20) - 3, std::vector<uint8_t>{'a', 'b', 'c'});  // unterminated at the very end
    CHECK(memory.read_cstring((1 << 20) - 3, 256) == "abc");
    CHECK_THROWS_AS(memory.read_cstring(1 << 20, 256), GuestAccessError);
}
