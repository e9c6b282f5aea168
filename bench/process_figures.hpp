// Figures of whole cr3rig processes: peak resident memory of a run and of a campaign
// (relative to the guest's RAM), and how a campaign scales from one worker to two.
#pragma once

#include <vector>

namespace cr3rig::bench {

struct ProcessSamples {
    std::vector<double> run_peak_rss_mib;       // cr3rig run builtin:lazytlb-fixed -q
    std::vector<double> campaign_peak_rss_mib;  // cr3rig campaign builtin:lazytlb-fixed --max N -j 1
    std::vector<double> campaign_jobs1_s, campaign_jobs2_s;  // lazytlb-buggy, --max N
    double guest_ram_mib = 64;                  // what both give the guest (cr3rig's default)
};

ProcessSamples process_samples(int runs, int max_schedules);

}  // namespace cr3rig::bench
