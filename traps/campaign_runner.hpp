// Running a campaign's pieces on KVM: the reference run that measures the windows,
// and one schedule to a result. Each run gets a fresh VM.
#pragma once

#include <chrono>

#include "campaign.hpp"

namespace cr3rig {

class ElfImage;

struct CampaignOptions {
    uint64_t rig_clock = 32;  // deterministic time: the same schedule, the same run
    uint64_t livelock_faults = 16;
    uint64_t livelock_abort = 2000;  // see TrapOptions
    std::chrono::milliseconds timeout{30'000};
    unsigned window_bound = 64;  // instructions after a read looked at for its write
};

// Runs the guest once without injection and returns, per dynamic CR3 read, the
// instructions to the next CR3 write. Throws if the reference run does not pass.
std::vector<unsigned> measure_windows(const ElfImage& image, const CampaignOptions& options);

ScheduleResult run_schedule(const ElfImage& image, const Schedule& schedule, const CampaignOptions& options,
                            size_t index);

}  // namespace cr3rig
