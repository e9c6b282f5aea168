// The picture behind every view, computed once from a History: one lane per task, the
// CR3 each task held over time (tenures), the page-fault storms, and where each event
// and finding stands on the time axis.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/history.hpp"

namespace cr3rig::report {

// Time is guest_ns (kvmclock) when every event has it and it never goes back;
// otherwise the event's seq, so a history still draws in order.
enum class TimeAxis { GuestNs, Seq };

// One task; events recorded without a task (before the scheduler ran, or a guest that
// exports no task symbols) share the lane without one. Past TimelineLimits::max_lanes,
// the tasks left over share one last lane, "19961 other tasks" (`tasks` > 1).
struct Lane {
    std::optional<TaskId> task;
    std::string label;  // "A (pid 2)", "no task", or "19961 other tasks"
    size_t tasks = 1;   // how many tasks the lane stands for
};

// What a view can show. The HTML page draws a lane per task and a colour per pgd, so
// without limits a history of 20,000 tasks made a page of 12 MB and took 540 MB to
// draw; the text and Perfetto views list every event anyway and take no limits.
struct TimelineLimits {
    size_t max_lanes = std::numeric_limits<size_t>::max();  // the last one is "other tasks"
    size_t max_pgds = std::numeric_limits<size_t>::max();   // pgds with their own colour
};

// A stretch of time during which one task ran on one CR3, as seen at the trapped
// events: it starts at the event where (task, CR3) changed and ends at the next such
// change, or at the last event.
struct Tenure {
    size_t lane = 0;
    uint64_t pgd = 0;
    bool foreign = false;   // CR3 is not the task's own mm's pgd (it has one, and this is not it)
    double start = 0, end = 0;
    uint64_t first_seq = 0;
};

// A run of page faults at one RIP and address with no fault elsewhere in between: the
// livelock detector's rule, with a lower threshold so shorter storms show as well.
struct Storm {
    size_t lane = 0;
    size_t first = 0, last = 0;  // indices into History::events
    uint64_t count = 0;
    uint64_t fault_rip = 0, fault_addr = 0, cr3 = 0;
    double start = 0, end = 0;
    uint64_t guest_ns = 0;  // duration in guest time (0 without guest time)
    std::optional<size_t> finding;  // the page-fault-livelock finding that reports it
};

struct Timeline {
    TimeAxis axis = TimeAxis::Seq;
    double t0 = 0, t1 = 0;             // first and last event time
    std::vector<Lane> lanes;           // ordered by pid, the task-less lane first, "other tasks" last
    size_t tasks = 0;                  // distinct tasks (the task-less lane counts as one)
    std::vector<size_t> event_lane;    // per event of the history
    std::vector<double> event_time;    // per event of the history
    std::vector<Tenure> tenures;       // in time order
    std::vector<uint64_t> pgds;        // the CR3 values held, in order of first appearance, up to max_pgds
    size_t pgds_held = 0;              // distinct CR3 values held, also those past max_pgds
    std::map<uint64_t, std::string> pgd_owners;  // pgd of `pgds` -> "mm of A" where an event says so
    std::vector<Storm> storms;
    std::map<uint64_t, size_t> event_by_seq;
    // Per finding: the event it points at (its seq), if that event is in the history.
    std::vector<std::optional<size_t>> finding_event;
};

inline constexpr uint64_t kStormMinFaults = 8;

Timeline build_timeline(const History& history, const TimelineLimits& limits = {});

// "12.345 ms" / "870 us" / "35 ns" for guest time spans; "seq 42" on the seq axis.
std::string format_time(TimeAxis axis, double t);
std::string format_duration_ns(uint64_t ns);
std::string lane_label(const std::optional<TaskId>& task);

}  // namespace cr3rig::report
