// Shared by the report tests: the recorded histories in tests/data/ and a synthetic
// history of any size.
#pragma once

#include <cstdint>
#include <string>

#include "report/history.hpp"

namespace cr3rig::testing {

// Recorded with `cr3rig run builtin:NAME --inject POLICY --trace FILE` (tests/data/README.md).
inline std::string data_path(const std::string& name) { return std::string(CR3RIG_TEST_DATA "/") + name; }
inline const char* const kBuggyTrace = "lazytlb-buggy-after-read.jsonl";
inline const char* const kFixedTrace = "lazytlb-fixed-after-read.jsonl";
inline const char* const kSwitchTrace = "cr3-switch-none.jsonl";

// `events` events over four tasks and five pgds, every kind, with a fault storm of
// 1000 faults in the middle and two findings; guest time 1 us apart.
inline report::History synthetic_history(uint64_t events)
{
    report::History h;
    h.name = "synthetic";
    h.run = {"builtin:synthetic", "after-read", "test"};
    uint64_t storm_from = events / 2, storm_to = storm_from + 1000;
    for (uint64_t seq = 1; seq <= events; seq++) {
        TrapEvent e;
        e.seq = seq;
        e.guest_ns = 1000 * seq;
        e.host_ns = 1100 * seq;
        int64_t pid = static_cast<int64_t>((seq / 7) % 4);
        e.task = TaskId{pid, std::string(1, static_cast<char>('A' + pid))};
        e.cr3 = 0x100000 + 0x1000 * ((seq / 7) % 5);
        e.own_mm_pgd = 0x100000 + 0x1000 * static_cast<uint64_t>(pid);
        if (seq >= storm_from && seq < storm_to) {
            e.kind = EventKind::PageFault;
            e.task = TaskId{1, "B"};
            e.fault_rip = e.fault_addr = 0x400000;
        } else {
            e.kind = static_cast<EventKind>(seq % 5);
            e.value = e.kind == EventKind::Cr3Write ? 0x100000 + 0x1000 * ((seq / 7 + 1) % 5) : e.cr3;
            e.fault_rip = e.fault_addr = 0x500000 + seq;  // faults outside the storm: each at its own address
        }
        e.symbol = "sym";
        h.events.push_back(e);
    }
    h.findings.push_back(Finding{FindingKind::StaleCr3Write, events / 4, "stale", 1, 2, 3, 4, {5}, 0, 0, 0});
    h.findings.push_back(
        Finding{FindingKind::FaultLivelock, storm_from, "livelock", 0x400000, 0, 3, 4, {}, 1000, 1000000, 0});
    h.verdict = report::RunVerdict{"FAIL", "stale"};
    return h;
}

}  // namespace cr3rig::testing
