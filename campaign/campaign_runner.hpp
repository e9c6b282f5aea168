// Running a campaign's pieces on KVM: the reference run that measures the windows,
// and one schedule to a result. Each run gets a fresh VM.
#pragma once

#include <chrono>
#include <memory>

#include "campaign/campaign.hpp"
#include "traps/trapped_run.hpp"

namespace cr3rig {

class ElfImage;

struct CampaignOptions {
    uint64_t rig_clock = kDefaultRigClockExits;  // deterministic time: the same schedule, the same run
    TrapBackend backend = TrapBackend::Auto;     // TrapOptions::backend
    uint64_t livelock_faults = 16;
    uint64_t livelock_abort = 2000;  // see TrapOptions
    std::chrono::milliseconds timeout{30'000};
    unsigned window_bound = 64;  // instructions after a read looked at for its write
    // Preemptions per run (see explore()). A schedule with fewer is run with its
    // windows measured, so that it can be extended.
    unsigned max_preemptions = 1;
};

// The guest run once without injection, in a fresh VM: its verdict and, per dynamic
// CR3 read, the instructions to the next CR3 write. A campaign explores only a guest
// whose reference run passes; any other verdict is the campaign's answer.
struct ReferenceRun {
    Verdict verdict;
    std::vector<unsigned> windows;
};
ReferenceRun reference_run(const ElfImage& image, const CampaignOptions& options);

// One schedule in a fresh VM (what `cr3rig replay` does), its CR3 history written to
// `history_path` if one is given (the campaign's report of a finding group).
ScheduleResult run_schedule(const ElfImage& image, const Schedule& schedule, const CampaignOptions& options,
                            size_t index, size_t sub = 0, const std::string& history_path = {});

// The fast way: one VM, booted once to the first CR3 read (the first injection
// opportunity) and saved there, together with the trap engine's state; each schedule
// then starts from that snapshot (only the pages the last one dirtied are restored).
// Every schedule gives the result it would give in a fresh VM.
class SnapshotCampaign {
public:
    SnapshotCampaign(const ElfImage& image, const CampaignOptions& options);

    bool has_reads() const { return session_.has_reads(); }  // no CR3 read at all: nothing to explore
    std::vector<unsigned> measure_windows();  // throws if the reference run does not pass
    ScheduleResult run(const Schedule& schedule, size_t index, size_t sub = 0);
    std::chrono::nanoseconds last_restore_time() const { return session_.last_restore_time(); }
    uint64_t last_pages_restored() const { return session_.last_pages_restored(); }

private:
    CampaignOptions options_;
    TrappedSession session_;
    uint64_t guest_hash_;
};

}  // namespace cr3rig
