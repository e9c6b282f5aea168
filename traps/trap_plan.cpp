#include "traps/trap_plan.hpp"

#include <algorithm>

#include "common/hex.hpp"
#include "cr3rig/abi.h"
#include "traps/trap_detail.hpp"

namespace cr3rig {

using trap_detail::kHwSlots;

unsigned DebugSlots::used() const { return reads + writes + (pf_entry ? 1 : 0) + flushes + lidts; }

TrapPlan plan_traps(TrapBackend choice, TrapBackend patch_kind, SiteCounts sites, bool pf_entry_known)
{
    TrapPlan plan;
    plan.sites = sites;
    unsigned cr3_sites = sites.reads + sites.writes;
    bool pf_wanted = sites.lidts > 0 || pf_entry_known;
    if (choice == TrapBackend::SingleStep ||
        (choice == TrapBackend::HardwareBreakpoints && cr3_sites > kHwSlots)) {
        plan.single_step = true;
        plan.step_fallback = choice != TrapBackend::SingleStep;
        return plan;
    }
    bool patching = choice != TrapBackend::HardwareBreakpoints;
    plan.patch_kind = !patching ? TrapBackend::HardwareBreakpoints : choice == TrapBackend::Auto ? patch_kind : choice;
    // Forced patching patches every site; auto keeps the debug registers for what fits
    // (no byte of the guest's text changes then), the #PF entry always has one.
    bool every_site_patched = patching && choice != TrapBackend::Auto;
    bool cr3_in_slots =
        !every_site_patched && (!patching || cr3_sites + (pf_wanted ? 1 : 0) <= kHwSlots);
    if (cr3_in_slots) {
        plan.slots.reads = sites.reads;
        plan.slots.writes = sites.writes;
    } else {
        plan.patched.reads = sites.reads;
        plan.patched.writes = sites.writes;
    }
    plan.slots.pf_entry = plan.slots.used() < kHwSlots && pf_wanted;
    auto share = [&](unsigned wanted) { return every_site_patched ? 0u : std::min(wanted, kHwSlots - plan.slots.used()); };
    plan.slots.flushes = share(sites.flushes);
    plan.slots.lidts = share(sites.lidts);
    if (patching) {
        plan.patched.flushes = sites.flushes - plan.slots.flushes;
        plan.patched.lidts = sites.lidts - plan.slots.lidts;
    }
    return plan;
}

namespace {

std::string counts(const SiteCounts& c)
{
    std::string out;
    auto add = [&](unsigned n, const char* what) {
        if (n)
            out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + what;
    };
    add(c.reads, "read");
    add(c.writes, "write");
    add(c.flushes, "flush");
    add(c.lidts, "lidt");
    return out;
}

std::string describe_slots(const DebugSlots& s, bool with_cr3)
{
    std::string out;
    auto add = [&](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
    if (with_cr3) {
        add(std::to_string(s.reads) + " read");
        add(std::to_string(s.writes) + " write");
    }
    if (s.pf_entry)
        add("#PF entry");
    if (s.flushes)
        add(std::to_string(s.flushes) + " flush");
    if (s.lidts)
        add(std::to_string(s.lidts) + " lidt");
    return "hardware breakpoints: " + out + " (" + std::to_string(s.used()) + " of " + std::to_string(kHwSlots) +
           " slots)";
}

}  // namespace

std::string describe(const TrapPlan& plan)
{
    const SiteCounts& sites = plan.sites;
    if (plan.single_step && plan.step_fallback)
        return "single-step through all guest code: " + std::to_string(sites.reads) + " reads + " +
               std::to_string(sites.writes) + " writes > " + std::to_string(kHwSlots) +
               " debug registers (--trap-backend hw)";
    if (plan.single_step)
        return "single-step through all guest code (--trap-backend step): " + std::to_string(sites.reads) +
               " reads + " + std::to_string(sites.writes) + " writes";
    if (plan.patched.total() == 0)
        return describe_slots(plan.slots, true);
    std::string patched = plan.patch_kind == TrapBackend::Int3
                              ? "software breakpoints (int3): "
                              : "patched traps (out to port " + hex(CR3RIG_TRAP_PORT) + "): ";
    patched += counts(plan.patched);
    if (plan.slots.used() == 0)
        return patched;
    if (plan.patch_cr3())
        return patched + "; " + describe_slots(plan.slots, false);
    return describe_slots(plan.slots, true) + "; " + patched;
}

}  // namespace cr3rig
