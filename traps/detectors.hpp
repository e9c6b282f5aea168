// The detectors: each consumes TrapEvents and reports Findings. No KVM here.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "common/trap_event.hpp"

namespace cr3rig {

// A write that puts back the value its own frame read earlier (read and write paired
// by stack pointer), while CR3 had been changed by someone else in between: the CR3
// at the write differs from the value read. Generic: needs no symbols.
class StaleWriteDetector {
public:
    std::optional<Finding> on_event(const TrapEvent& event);

private:
    std::map<uint64_t, TrapEvent> pending_reads_;  // by rsp
    std::vector<TrapEvent> recent_writes_;          // bounded, for "writes in between"
};

// After a CR3 write, is CR3 the pgd of current->active_mm? Needs the kernel's symbols.
class ActiveMmDetector {
public:
    std::optional<Finding> on_event(const TrapEvent& event);
};

// N consecutive page faults at the same RIP and address: the faulting task makes no
// progress. A streak becomes a finding when it ends (a fault elsewhere) or the run
// does, with its full count and time stuck; its seq is the streak's first fault.
class FaultLivelockDetector {
public:
    explicit FaultLivelockDetector(uint64_t threshold) : threshold_(threshold) {}
    void on_event(const TrapEvent& event);
    // Completes a livelock still in progress; `stuck` = the run ended because of it
    // (it is then marked unresolved). Returns every livelock.
    std::vector<Finding> finish(bool stuck = false);
    uint64_t current_streak() const { return count_; }

private:
    void close_streak(bool unresolved);

    uint64_t threshold_;
    std::optional<TrapEvent> first_;
    TrapEvent last_;
    uint64_t count_ = 0;
    std::vector<Finding> livelocks_;
};

// All three, in the order they report.
class Detectors {
public:
    explicit Detectors(uint64_t livelock_threshold) : livelock_(livelock_threshold) {}
    std::vector<Finding> on_event(const TrapEvent& event);
    // Every finding of the run in event order, livelocks completed (see above).
    std::vector<Finding> finish(bool stuck_in_livelock = false);
    uint64_t fault_streak() const { return livelock_.current_streak(); }

private:
    StaleWriteDetector stale_;
    ActiveMmDetector active_mm_;
    FaultLivelockDetector livelock_;
    std::vector<Finding> findings_;  // stale writes and active_mm mismatches
};

}  // namespace cr3rig
