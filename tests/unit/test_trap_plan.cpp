// How the trap engine shares its sites between the debug registers, patches and
// single steps (traps/trap_plan.hpp), and the backend line that says so.
#include <catch2/catch.hpp>

#include "traps/trap_plan.hpp"

using namespace cr3rig;

namespace {

SiteCounts sites(unsigned reads, unsigned writes, unsigned flushes = 0, unsigned lidts = 0)
{
    SiteCounts c;
    c.reads = reads;
    c.writes = writes;
    c.flushes = flushes;
    c.lidts = lidts;
    return c;
}

}  // namespace

TEST_CASE("auto keeps everything in debug registers while it fits: the text is untouched")
{
    TrapPlan p = plan_traps(TrapBackend::Auto, TrapBackend::PatchedPort, sites(1, 1, 0, 1), true);
    CHECK_FALSE(p.single_step);
    CHECK(p.patched.total() == 0);
    CHECK(p.slots.used() == 4);
    CHECK(describe(p) == "hardware breakpoints: 1 read, 1 write, #PF entry, 1 lidt (4 of 4 slots)");
}

TEST_CASE("auto patches the CR3 sites when they and the #PF entry do not fit in 4 registers")
{
    TrapPlan p = plan_traps(TrapBackend::Auto, TrapBackend::PatchedPort, sites(3, 3, 3, 0), false);
    CHECK(p.patch_cr3());
    CHECK(p.slots.reads + p.slots.writes == 0);
    CHECK(p.slots.flushes == 3);  // what is left goes to the flushes, in order of need
    CHECK(p.patched.flushes == 0);
    CHECK(describe(p) == "patched traps (out to port 0xef): 3 read, 3 write; hardware breakpoints: 3 flush (3 of 4 slots)");
    // 4 CR3 sites fit alone, but not with the #PF entry a guest with an IDT needs.
    CHECK_FALSE(plan_traps(TrapBackend::Auto, TrapBackend::Int3, sites(2, 2), false).patch_cr3());
    TrapPlan with_idt = plan_traps(TrapBackend::Auto, TrapBackend::Int3, sites(2, 2, 0, 1), false);
    CHECK(with_idt.patch_cr3());
    CHECK(with_idt.slots.pf_entry);
    CHECK(describe(with_idt) == "software breakpoints (int3): 2 read, 2 write; hardware breakpoints: #PF entry, 1 lidt (2 of 4 slots)");
}

TEST_CASE("auto patches the flush and lidt sites no register is left for")
{
    TrapPlan p = plan_traps(TrapBackend::Auto, TrapBackend::PatchedPort, sites(1, 1, 3, 1), true);
    CHECK_FALSE(p.patch_cr3());
    CHECK(p.slots.flushes == 1);
    CHECK(p.patched.flushes == 2);
    CHECK(p.patched.lidts == 1);
    CHECK(describe(p) == "hardware breakpoints: 1 read, 1 write, #PF entry, 1 flush (4 of 4 slots); patched traps "
                         "(out to port 0xef): 2 flush, 1 lidt");
}

TEST_CASE("a forced patch kind patches every site and keeps a register for the #PF entry only")
{
    for (TrapBackend kind : {TrapBackend::PatchedPort, TrapBackend::Int3}) {
        TrapPlan p = plan_traps(kind, TrapBackend::PatchedPort, sites(1, 1, 2, 1), false);
        CHECK(p.patch_kind == kind);
        CHECK(p.patched.total() == 5);
        CHECK(p.slots.used() == 1);
        CHECK(p.slots.pf_entry);
    }
}

TEST_CASE("hw keeps the old engine: registers only, single steps past 4 CR3 sites")
{
    TrapPlan fits = plan_traps(TrapBackend::HardwareBreakpoints, TrapBackend::Int3, sites(1, 1, 5, 0), false);
    CHECK(fits.patched.total() == 0);
    CHECK(fits.slots.flushes == 2);  // the other 3 flush sites are not trapped
    TrapPlan many = plan_traps(TrapBackend::HardwareBreakpoints, TrapBackend::Int3, sites(3, 3), false);
    CHECK(many.single_step);
    CHECK(describe(many) == "single-step through all guest code: 3 reads + 3 writes > 4 debug registers (--trap-backend hw)");
    TrapPlan asked = plan_traps(TrapBackend::SingleStep, TrapBackend::Int3, sites(1, 1), false);
    CHECK(asked.single_step);
    CHECK(describe(asked) == "single-step through all guest code (--trap-backend step): 1 reads + 1 writes");
}

TEST_CASE("trap backend names parse back and nothing else does")
{
    for (TrapBackend b : {TrapBackend::Auto, TrapBackend::HardwareBreakpoints, TrapBackend::PatchedPort,
                          TrapBackend::Int3, TrapBackend::SingleStep})
        CHECK(parse_trap_backend(name_of(b)) == b);
    CHECK_FALSE(parse_trap_backend("Auto").has_value());
    CHECK_FALSE(parse_trap_backend("").has_value());
}
