// The port map of cr3rig/abi.h: compile-time collision checks, and the bus's own.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "cr3rig/abi.h"
#include "vmm/devices/device.hpp"
#include "vmm/dispatch.hpp"

using namespace cr3rig;

namespace {

// A device that claims what it is told and does nothing.
class Claimer : public Device {
public:
    Claimer(std::string name, Claims claims) : name_(std::move(name)), claims_(std::move(claims)) {}
    std::string_view name() const override { return name_; }
    Claims claims() const override { return claims_; }
    ExitAction io(const IoAccess&) override { return std::nullopt; }

private:
    std::string name_;
    Claims claims_;
};

std::string attach_error(PortBus& bus, Device& device)
{
    try {
        bus.attach(device);
    } catch (const std::logic_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("the collision predicate of abi.h detects overlaps")
{
    // The header's static asserts run at compile time; here the predicate itself is checked.
    STATIC_REQUIRE(CR3RIG_PORT_FREE(CR3RIG_RIG_PORT, CR3RIG_RIG_LEN));
    STATIC_REQUIRE_FALSE(CR3RIG_PORT_FREE(CR3RIG_UART_PORT + 7, 1));
    STATIC_REQUIRE_FALSE(CR3RIG_PORT_FREE(0x50e, 4));  // runs into fw_cfg at 0x510
    STATIC_REQUIRE(CR3RIG_PORT_FREE(0x3f0, 8));        // ends just before the UART
    STATIC_REQUIRE_FALSE(CR3RIG_PORT_FREE(0x43, 1));   // last PIT port
}

TEST_CASE("the port bus routes each claimed range and refuses overlapping devices")
{
    Claimer a("uart-like", {{{CR3RIG_UART_PORT, CR3RIG_UART_LEN}}, {}});
    Claimer b("probe", {{{CR3RIG_UART_PORT + 4, 1}}, {}});
    Claimer c("two ranges", {{{CR3RIG_RIG_PORT, CR3RIG_RIG_LEN}, {0x80, 1}}, {}});
    PortBus bus;
    bus.attach(a);
    CHECK(attach_error(bus, b) == "port 0x3fc claimed twice: by uart-like [0x3f8, 0x400) and by probe [0x3fc, 0x3fd)");
    CHECK_NOTHROW(bus.attach(c));
    CHECK(bus.find(CR3RIG_UART_PORT + 7) == &a);
    CHECK(bus.find(CR3RIG_UART_PORT + 8) == nullptr);
    CHECK(bus.find(CR3RIG_RIG_PORT + 3) == &c);
    CHECK(bus.find(0x80) == &c);
    CHECK(bus.find(0x81) == nullptr);

    // A device is attached whole or not at all.
    Claimer half("half", {{{0x90, 1}, {CR3RIG_UART_PORT, 1}}, {}});
    CHECK_THAT(attach_error(bus, half), Catch::Contains("by half [0x3f8, 0x3f9)"));
    CHECK(bus.find(0x90) == nullptr);
}

TEST_CASE("the port bus refuses empty and out-of-range port claims, takes MMIO claims")
{
    PortBus bus;
    Claimer empty("empty", {{{0x100, 0}}, {}});
    Claimer past_end("past the end", {{{0xfffe, 4}}, {}});
    Claimer last("last", {{{0xfffe, 2}}, {}});
    Claimer mmio("mmio", {{}, {{0xfee00000, 0x1000}}});
    CHECK_THAT(attach_error(bus, empty), Catch::Contains("empty [0x100, 0x100): not a port range"));
    CHECK_THAT(attach_error(bus, past_end), Catch::Contains("past the end"));
    CHECK(attach_error(bus, last).empty());
    CHECK(attach_error(bus, mmio).empty());  // routed by address (test_pc_devices.cpp)
    CHECK(bus.find_mmio(0xfee00fff) == &mmio);
}
