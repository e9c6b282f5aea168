// What trapping costs as kernels grow CR3 sites, and what it saves against stress
// testing (issue 17):
//   - the cost of one trapped CR3 access for the cr3-sites-{1,8,64,512} guests (the
//     same 4096 accesses spread over that many sites), per trap backend: the host
//     time between the guest's two bench-port writes with the trap engine, minus
//     the same without it, over the accesses;
//   - the buggy lazytlb kernels run again and again as they are, on their own timer,
//     until the race shows by itself (stress testing), against the rig's time to its
//     first finding under `--inject after-read`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "traps/trap_backend.hpp"

namespace cr3rig::bench {

inline constexpr int kCr3SitesAccesses = 4096;  // CR3_ACCESSES in guest/tests/cr3_sites.c
inline constexpr int kCr3SiteCounts[] = {1, 8, 64, 512};  // the cr3-sites-N guests

// One guest under one backend.
struct SiteCostCell {
    TrapBackend backend;
    int sites = 0;
    std::vector<double> per_access_ns;  // one per run: (trapped window - plain window) / accesses
    uint64_t engine_accesses = 0;       // reads + writes the engine counted (the last run)
    std::string engine;                 // the engine's backend line (the last run)
    std::string failed;                 // why this backend did not run the guest, else empty
};

struct SiteCostFigures {
    std::vector<SiteCostCell> cells;  // backend-major, sites ascending
};

// `runs` runs of each guest under each backend the issue asks about: Auto (the
// engine's choice), PatchedPort and Int3. A backend that throws or whose run does not
// pass is recorded as failed and not run again; the rest go on.
SiteCostFigures site_cost_figures(int runs);

// The table (backend, sites, min / median / max, ratio to the round trip, the engine's
// backend line) and, per backend, the goal: flat in the number of sites and within 2x
// the exit floor.
void print_site_cost_figures(const SiteCostFigures& f, double roundtrip_ns);
void add_site_cost_json(nlohmann::json& j, const SiteCostFigures& f, double roundtrip_ns);

// One buggy kernel: stress testing against the rig.
struct StressFigures {
    std::string guest;
    int runs = 0;               // K stress runs
    int failing = 0;            // FAIL verdicts: the race showed and the kernel's own checks saw it
    int other = 0;              // runs that ended neither PASS nor FAIL (timeout, crash)
    int first_failing = 0;      // 1-based; 0 = never
    std::string first_reason;   // the first failing run's verdict
    std::vector<double> run_ms; // each stress run: VM create to destroy
    std::vector<double> rig_ms; // each rig run: VM create to a verdict with a finding
    std::string rig_failed;     // why the rig found nothing, else empty
};

// lazytlb-buggy, and lazytlb-inline-buggy when it is built in: `stress_runs` plain
// runs each, then `rig_runs` trapped runs under after-read on the rig clock.
std::vector<StressFigures> stress_figures(int stress_runs, int rig_runs);

void print_stress_figures(const std::vector<StressFigures>& figures);
void add_stress_json(nlohmann::json& j, const std::vector<StressFigures>& figures);

// A campaign on lazytlb-inline-buggy (19 CR3 sites: patched traps), in this process from
// the snapshot: schedules per second, and the time from the start (boot to the
// snapshot and the reference run included) to the first schedule with a finding.
struct InlineCampaignFigures {
    std::string guest = "lazytlb-inline-buggy";
    size_t schedules = 0;  // in the campaign
    size_t run = 0;        // run here: all, or (stop_at_first_finding) up to the first finding
    double per_s = 0;
    double first_finding_ms = -1;  // -1: none
    std::string first_finding;     // its schedule, "nth:26:0"
    std::string skipped;           // why it did not run (the guest is not built in)
};

InlineCampaignFigures inline_campaign_figures(bool stop_at_first_finding);
void print_inline_campaign_figures(const InlineCampaignFigures& f);
void add_inline_campaign_json(nlohmann::json& j, const InlineCampaignFigures& f);

}  // namespace cr3rig::bench
