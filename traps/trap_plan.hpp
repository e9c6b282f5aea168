// How the trap engine traps a guest's sites: which by a debug register, which by a
// patch in its text, which not at all, or single-stepping throughout. The one account
// of it: TrapEngine arms and patches what it says, and the backend text of both the
// history's header and the `traps:` line on stderr is its description, so the two
// cannot count differently (they did: the header was written before the guest loaded
// its IDT and counted no #PF entry, while stderr, written at the end, counted one).
#pragma once

#include <cstddef>
#include <string>

#include "traps/trap_backend.hpp"

namespace cr3rig {

struct SiteCounts {
    unsigned reads = 0, writes = 0, flushes = 0, lidts = 0;
    unsigned total() const { return reads + writes + flushes + lidts; }
};

struct DebugSlots {
    unsigned reads = 0, writes = 0;
    // A slot kept for the #PF handler's entry: the guest can load an IDT (it has a lidt
    // site) or has one. Empty until the entry is found; kept so the slots after it do
    // not move when it is.
    bool pf_entry = false;
    unsigned flushes = 0;  // the first flush sites, by address
    unsigned lidts = 0;    // the first lidt sites, by address

    unsigned used() const;
};

struct TrapPlan {
    // Every instruction single-stepped: asked for, or (with `hw`) more CR3 sites than
    // debug registers.
    bool single_step = false;
    bool step_fallback = false;  // single_step because the CR3 sites did not fit
    SiteCounts sites;            // what the scanned code has
    DebugSlots slots;            // what the debug registers hold
    // Patched traps: PatchedPort or Int3 (HardwareBreakpoints: nothing is patched).
    TrapBackend patch_kind = TrapBackend::HardwareBreakpoints;
    SiteCounts patched;  // the sites trapped by a patch: those after the slots' in each kind
    bool patch_cr3() const { return patched.reads + patched.writes > 0; }
};

// The plan for `choice` (TrapBackend::Auto: debug registers for what fits in them in
// order of need (CR3 sites, the #PF entry, flush sites, lidt sites), a patch of
// kind `patch_kind` for the rest; the CR3 sites all in registers or all patched).
// `pf_entry_known`: the guest has an IDT with a #PF gate.
TrapPlan plan_traps(TrapBackend choice, TrapBackend patch_kind, SiteCounts sites, bool pf_entry_known);

// "hardware breakpoints: 1 read, 1 write, #PF entry, 1 lidt (4 of 4 slots)",
// "patched traps (out to port 0x4f4): 3 read, 3 write, 2 flush; hardware breakpoints:
// #PF entry (1 of 4 slots)", or the single-step line: what the history's header and
// `traps:` say.
std::string describe(const TrapPlan& plan);

}  // namespace cr3rig
