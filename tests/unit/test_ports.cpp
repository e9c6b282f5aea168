// The port map of cr3rig/abi.h: compile-time collision checks, and the bus's own.
#include <catch2/catch.hpp>
#include <stdexcept>

#include "cr3rig/abi.h"
#include "vmm/dispatch.hpp"

using namespace cr3rig;

TEST_CASE("the collision predicate of abi.h detects overlaps")
{
    // The header's static asserts run at compile time; here the predicate itself is checked.
    STATIC_REQUIRE(CR3RIG_PORT_FREE(CR3RIG_RIG_PORT, CR3RIG_RIG_LEN));
    STATIC_REQUIRE_FALSE(CR3RIG_PORT_FREE(CR3RIG_UART_PORT + 7, 1));
    STATIC_REQUIRE_FALSE(CR3RIG_PORT_FREE(0x50e, 4));  // runs into fw_cfg at 0x510
    STATIC_REQUIRE(CR3RIG_PORT_FREE(0x3f0, 8));        // ends just before the UART
    STATIC_REQUIRE_FALSE(CR3RIG_PORT_FREE(0x43, 1));   // last PIT port
}

TEST_CASE("the port bus refuses overlapping devices")
{
    struct Nop : PortDevice {
        ExitAction io(const IoAccess&) override { return std::nullopt; }
    } a, b;
    PortBus bus;
    bus.attach(CR3RIG_UART_PORT, CR3RIG_UART_LEN, a);
    CHECK_THROWS_AS(bus.attach(CR3RIG_UART_PORT + 4, 1, b), std::logic_error);
    CHECK_NOTHROW(bus.attach(CR3RIG_RIG_PORT, CR3RIG_RIG_LEN, b));
    CHECK(bus.find(CR3RIG_UART_PORT + 7) == &a);
    CHECK(bus.find(CR3RIG_UART_PORT + 8) == nullptr);
}
