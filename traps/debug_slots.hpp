// How the trap engine shares out the four debug registers: the one account of them.
// TrapEngine::arm programs what it says, and the backend text of both the history's
// header and the `traps:` line on stderr is its description, so the two cannot count
// the slots differently (they did: the header was written before the guest loaded its
// IDT and counted no #PF entry, while stderr, written at the end, counted one).
#pragma once

#include <cstddef>
#include <string>

namespace cr3rig {

struct DebugSlots {
    bool single_step = false;  // more CR3 sites than debug registers: step every instruction
    unsigned reads = 0, writes = 0;
    // A slot kept for the #PF handler's entry: the guest can load an IDT (it has a lidt
    // site) or has one. Empty until the entry is found; kept so the slots after it do
    // not move when it is.
    bool pf_entry = false;
    unsigned flushes = 0;  // flush sites armed
    unsigned lidts = 0;    // lidt sites armed

    unsigned used() const;
};

// The slots for the CR3 sites (reads, writes), flush and lidt sites of the scanned
// code, in that order of need: CR3 sites, the #PF entry, flushes, lidt.
DebugSlots plan_debug_slots(unsigned reads, unsigned writes, size_t flush_sites, size_t lidt_sites,
                            bool pf_entry_known);

// "hardware breakpoints: 1 read, 1 write, #PF entry, 1 lidt (4 of 4 slots)", or the
// single-step fallback: what the history's header and `traps:` say.
std::string describe(const DebugSlots& slots);

}  // namespace cr3rig
