// Campaigns: the schedules to explore, how results are keyed, grouped and replayed.
// Pure data and functions; campaign_runner runs a schedule on KVM, plan and workers a
// whole campaign, out_dir and group_reports write its --out directory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/trap_event.hpp"
#include "common/verdict.hpp"
#include "traps/trap_backend.hpp"

namespace cr3rig {

// One forced preemption: after the `read`-th dynamic CR3 read of the run (1-based),
// `delay` instructions later (0 = right after the read).
struct Injection {
    uint64_t read = 1;
    unsigned delay = 0;
    bool operator==(const Injection&) const = default;
};

// More preemptions per run than this multiply the schedules past any use.
constexpr unsigned kMaxPreemptions = 4;

// What `cr3rig campaign` accepts for --rig-clock and --livelock-faults, and so what a
// replay token may hold: a campaign never runs on host time (rig clock 0).
constexpr uint64_t kMinCampaignRigClock = 1;
constexpr uint64_t kMaxCampaignRigClock = uint64_t{1} << 32;
constexpr uint64_t kMinLivelockFaults = 2;
constexpr uint64_t kMaxLivelockFaults = uint64_t{1} << 40;

// The preemptions of one run, in increasing read order. As a policy:
// nth:READ:DELAY[,READ:DELAY...].
struct Schedule {
    std::vector<Injection> injections;

    Schedule() = default;
    Schedule(uint64_t read, unsigned delay) : injections{{read, delay}} {}
    explicit Schedule(std::vector<Injection> points) : injections(std::move(points)) {}

    std::string policy() const;
    uint64_t last_read() const { return injections.empty() ? 0 : injections.back().read; }
    bool operator==(const Schedule&) const = default;
};

// `parent` plus one more preemption: at every read after its last one and every
// offset inside that read's window, where `windows[i]` is the number of instructions
// from read i+1 to the next CR3 write in the parent's own run (0 = none within the
// bound, then only offset 0 is tried). With an empty parent: every (read, offset)
// pair of a reference run.
std::vector<Schedule> extensions(const Schedule& parent, const std::vector<unsigned>& windows);
inline std::vector<Schedule> enumerate_schedules(const std::vector<unsigned>& windows)
{
    return extensions(Schedule{}, windows);
}

// The K-th of N deterministic slices (K is 1-based): schedules whose index % N == K-1.
std::vector<size_t> shard_indices(size_t count, unsigned k, unsigned n);

// Parses "K/N" (1 <= K <= N); throws BadInput.
std::pair<unsigned, unsigned> parse_shard(const std::string& text);

// Everything that makes a run reproducible: the guest (by content hash), the
// schedule, the rig clock and the livelock threshold.
struct ReplayToken {
    uint64_t guest_hash = 0;
    Schedule schedule;
    uint64_t rig_clock = 0;
    uint64_t livelock_faults = 16;
    // How the campaign trapped: a forced backend traps other sites or at another cost
    // in exits, and guest time follows exits. Auto is left out of the text.
    TrapBackend backend = TrapBackend::Auto;

    // "cr3rig1-<hash>-<reads>-<delays>-<clock>-<faults>[-<backend>]", several reads and
    // delays joined by dots: cr3rig1-...-2.5-0.3-32-16 is nth:2:0,5:3. decode() throws
    // BadInput for malformed text and for a clock or threshold no campaign uses.
    std::string encode() const;
    static ReplayToken decode(const std::string& text);
};

uint64_t content_hash(const std::vector<uint8_t>& bytes);  // FNV-1a 64

// What a schedule's findings look like, independent of when they happened: kinds
// and sites, in order of first appearance. "clean" when there are none.
std::string signature(const std::vector<Finding>& findings);

struct ScheduleResult {
    size_t index = 0;  // of its root: the one-preemption schedule in the campaign's list
    size_t sub = 0;    // 0 = the root itself, then its extensions in the order explored
    Schedule schedule;
    std::string token;
    VerdictKind verdict = VerdictKind::Crash;  // by name_of() in the JSON line
    std::string signature;
    std::vector<std::string> findings;  // describe() of each
    double ms = 0;
    // Per dynamic read of this run, its window (see extensions()); only when measured,
    // and not part of the JSON line.
    std::vector<unsigned> windows;
    uint64_t reads = 0;  // dynamic CR3 reads of this run; not part of the JSON line either

    bool clean() const { return verdict == VerdictKind::Pass && signature == "clean"; }
    std::string to_json_line() const;
    static ScheduleResult from_json_line(const std::string& line);  // throws BadInput
};

// Runs `root` (at `index`) and then, depth first and up to `max_preemptions` per run,
// the extensions of every run that came out clean: a preemption only matters on top of
// a run that has not already gone wrong. `run(schedule, sub)` runs one schedule
// (measuring its windows when it may be extended); `emit` gets each result and says
// whether to go on (false: stop, e.g. a time budget is spent).
void explore(const Schedule& root, unsigned max_preemptions,
             const std::function<ScheduleResult(const Schedule&, size_t sub)>& run,
             const std::function<bool(const ScheduleResult&)>& emit);

// Campaign order: by root index, then by position in the root's exploration.
bool campaign_order(const ScheduleResult& a, const ScheduleResult& b);

struct FindingGroup {
    std::string signature;
    size_t count = 0;
    ScheduleResult first;  // the lowest-index schedule with this signature
};

// Groups by signature; the order is by each group's first schedule.
std::vector<FindingGroup> group_results(const std::vector<ScheduleResult>& results);

// A campaign's (or a merge's) exit code, the most telling of its schedules' verdicts:
// that of a FAIL (1) when any schedule failed or found something, else that of a
// CRASH (3) when any crashed, else that of a TIMEOUT (124) when any timed out, else 0.
// A campaign of one schedule thus exits as `cr3rig replay` of it does.
int campaign_exit_code(const std::vector<ScheduleResult>& results);

}  // namespace cr3rig
