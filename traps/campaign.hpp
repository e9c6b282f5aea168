// Campaigns: the schedules to explore, how results are keyed, grouped and replayed.
// Pure data and functions; cli/cmd_campaign.cpp runs them on KVM.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "trap_event.hpp"

namespace cr3rig {

// One injection: after the `read`-th dynamic CR3 read (1-based), `delay`
// instructions later (0 = right after the read). As a policy: nth:READ:DELAY.
struct Schedule {
    uint64_t read = 1;
    unsigned delay = 0;
    std::string policy() const;
    bool operator==(const Schedule&) const = default;
};

// Every (read, offset) pair of a reference run: `windows[i]` is the number of
// instructions from read i+1 to the next CR3 write (0 = none within the bound, then
// only offset 0 is tried).
std::vector<Schedule> enumerate_schedules(const std::vector<unsigned>& windows);

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

    std::string encode() const;                  // "cr3rig1-<hash>-<read>-<delay>-<clock>-<faults>"
    static ReplayToken decode(const std::string& text);  // throws BadInput
};

uint64_t content_hash(const std::vector<uint8_t>& bytes);  // FNV-1a 64

// What a schedule's findings look like, independent of when they happened: kinds
// and sites, in order of first appearance. "clean" when there are none.
std::string signature(const std::vector<Finding>& findings);

struct ScheduleResult {
    size_t index = 0;  // in the campaign's schedule list
    Schedule schedule;
    std::string token;
    std::string verdict;  // PASS, FAIL, CRASH, TIMEOUT
    std::string signature;
    std::vector<std::string> findings;  // describe() of each
    double ms = 0;

    std::string to_json_line() const;
    static ScheduleResult from_json_line(const std::string& line);  // throws BadInput
};

struct FindingGroup {
    std::string signature;
    size_t count = 0;
    ScheduleResult first;  // the lowest-index schedule with this signature
};

// Groups by signature; the order is by each group's first schedule.
std::vector<FindingGroup> group_results(const std::vector<ScheduleResult>& results);

}  // namespace cr3rig
