// What the trap engine observes, as plain values: the detectors and the CR3 history
// consume these, so both are tested on synthetic streams without KVM.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cr3rig {

enum class EventKind { Cr3Read, Cr3Write, Injection, PageFault, Flush };

const char* name_of(EventKind kind);

struct TaskId {
    int64_t pid = -1;
    std::string name;
};

struct TrapEvent {
    uint64_t seq = 0;
    EventKind kind = EventKind::Cr3Read;
    uint64_t rip = 0;            // the trapped instruction (PageFault: the #PF entry)
    std::string symbol;          // of rip
    uint64_t rsp = 0;
    uint64_t cr3 = 0;            // CR3 when the event happened (for a write: before it)
    uint64_t value = 0;          // Cr3Read: value read; Cr3Write: value written; Injection: vector;
                                 // Flush: the new CR4 of a cr4-write, else 0
    std::string instruction;     // Flush: "invlpg", "invpcid" or "cr4-write"
    // PageFault: the faulting access, from the exception frame and CR2.
    uint64_t fault_rip = 0;
    uint64_t fault_addr = 0;
    uint64_t error_code = 0;
    // From the guest kernel's symbols, when it exports them (see SemanticSymbols).
    std::optional<TaskId> task;
    std::optional<uint64_t> active_mm_pgd;  // pgd of current->active_mm
    std::optional<uint64_t> own_mm_pgd;     // pgd of current->mm (a page fault's "should have been")
    uint64_t guest_ns = 0;       // kvmclock
    uint64_t host_ns = 0;        // steady clock since the run started
};

// GuestDisagrees: the guest kernel's own count (struct cr3rig_accounting) and the
// rig's findings differ, so one of them missed something.
enum class FindingKind { StaleCr3Write, Cr3NotActiveMm, FaultLivelock, GuestDisagrees };

const char* name_of(FindingKind kind);

struct Finding;
// "stale-cr3-write: at write_cr3 (0x100b90), seq 43: wrote ...": kind and summary.
std::string describe(const Finding& finding);

struct Finding {
    FindingKind kind;
    uint64_t seq;           // event that established it
    std::string summary;    // one line for people, without the kind
    // Details for machines (also in the JSONL history).
    uint64_t site = 0, other_site = 0;  // stale write: write site, read site
    uint64_t value = 0, expected = 0;   // what was written / what CR3 should have been
    std::vector<uint64_t> writes_between;  // stale write: values written in between
    uint64_t count = 0;                    // livelock: faults
    uint64_t guest_ns = 0, host_ns = 0;    // livelock: time stuck
    bool unresolved = false;               // livelock: still faulting when the run ended
};

}  // namespace cr3rig
