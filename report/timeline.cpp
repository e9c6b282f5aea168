#include "report/timeline.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <tuple>
#include <unordered_set>

namespace cr3rig::report {

namespace {

TimeAxis choose_axis(const History& h)
{
    if (!h.has_guest_time || h.events.empty())
        return TimeAxis::Seq;
    for (size_t i = 1; i < h.events.size(); i++)
        if (h.events[i].guest_ns < h.events[i - 1].guest_ns)
            return TimeAxis::Seq;
    return h.events.back().guest_ns > h.events.front().guest_ns ? TimeAxis::GuestNs : TimeAxis::Seq;
}

struct LaneKey {
    bool has_task;
    int64_t pid;
    std::string name;
    bool operator<(const LaneKey& o) const
    {
        return std::tie(has_task, pid, name) < std::tie(o.has_task, o.pid, o.name);
    }
};

LaneKey key_of(const TrapEvent& e) { return e.task ? LaneKey{true, e.task->pid, e.task->name} : LaneKey{false, 0, ""}; }

Lane lane_of(const LaneKey& key)
{
    Lane lane{key.has_task ? std::optional<TaskId>(TaskId{key.pid, key.name}) : std::nullopt, "", 1};
    lane.label = lane_label(lane.task);
    return lane;
}

// The tasks that get a lane of their own when there are more than `room`: those whose
// events hold a finding first (in finding order), then those with the most events.
std::set<LaneKey> lanes_to_keep(const History& h, const Timeline& t, const std::map<LaneKey, size_t>& events_of,
                                size_t room)
{
    std::set<LaneKey> kept;
    for (const auto& f : h.findings) {
        auto it = t.event_by_seq.find(f.seq);
        if (kept.size() < room && it != t.event_by_seq.end())
            kept.insert(key_of(h.events[it->second]));
    }
    std::vector<std::pair<size_t, LaneKey>> busiest;
    for (const auto& [key, n] : events_of)
        busiest.emplace_back(n, key);
    std::stable_sort(busiest.begin(), busiest.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < busiest.size() && kept.size() < room; i++)
        kept.insert(busiest[i].second);
    return kept;
}

void assign_lanes(const History& h, const TimelineLimits& limits, Timeline& t)
{
    std::map<LaneKey, size_t> events_of;  // per task, its events; dropped once the lanes are chosen
    for (const auto& e : h.events)
        events_of[key_of(e)]++;
    t.tasks = events_of.size();
    size_t room = std::max<size_t>(limits.max_lanes, 2);
    std::map<LaneKey, size_t> index;
    if (t.tasks <= room) {
        for (const auto& [key, n] : events_of)
            index.emplace(key, 0);
    } else {
        for (const auto& key : lanes_to_keep(h, t, events_of, room - 1))
            index.emplace(key, 0);
    }
    for (auto& [key, i] : index) {  // std::map order: task-less first, then by pid
        i = t.lanes.size();
        t.lanes.push_back(lane_of(key));
    }
    size_t others = t.tasks - index.size();
    if (others)
        t.lanes.push_back(Lane{std::nullopt, std::to_string(others) + " other tasks", others});
    for (const auto& e : h.events) {
        auto it = index.find(key_of(e));
        t.event_lane.push_back(it == index.end() ? t.lanes.size() - 1 : it->second);
    }
}

uint64_t cr3_after(const TrapEvent& e) { return e.kind == EventKind::Cr3Write ? e.value : e.cr3; }

void build_tenures(const History& h, const TimelineLimits& limits, Timeline& t)
{
    std::unordered_set<uint64_t> held;  // every pgd seen, to count them
    std::unordered_set<uint64_t> listed;
    for (size_t i = 0; i < h.events.size(); i++) {
        const TrapEvent& e = h.events[i];
        uint64_t pgd = cr3_after(e);
        bool foreign = e.own_mm_pgd && *e.own_mm_pgd != pgd;
        double now = t.event_time[i];
        if (!t.tenures.empty()) {
            Tenure& open = t.tenures.back();
            if (open.lane == t.event_lane[i] && open.pgd == pgd && open.foreign == foreign)
                continue;
            open.end = now;
        }
        t.tenures.push_back(Tenure{t.event_lane[i], pgd, foreign, now, now, e.seq});
        if (held.insert(pgd).second && t.pgds.size() < limits.max_pgds) {
            t.pgds.push_back(pgd);
            listed.insert(pgd);
        }
    }
    t.pgds_held = held.size();
    if (!t.tenures.empty())
        t.tenures.back().end = t.t1;
    for (const auto& e : h.events)
        if (e.own_mm_pgd && e.task && listed.count(*e.own_mm_pgd) && !t.pgd_owners.count(*e.own_mm_pgd))
            t.pgd_owners[*e.own_mm_pgd] = "mm of " + e.task->name;
}

void build_storms(const History& h, Timeline& t)
{
    std::optional<Storm> open;
    auto close = [&] {
        if (open && open->count >= kStormMinFaults) {
            open->start = t.event_time[open->first];
            open->end = t.event_time[open->last];
            uint64_t from = h.events[open->first].guest_ns, to = h.events[open->last].guest_ns;
            open->guest_ns = h.has_guest_time && to >= from ? to - from : 0;
            t.storms.push_back(*open);
        }
        open.reset();
    };
    for (size_t i = 0; i < h.events.size(); i++) {
        const TrapEvent& e = h.events[i];
        if (e.kind != EventKind::PageFault)
            continue;
        if (open && (e.fault_rip != open->fault_rip || e.fault_addr != open->fault_addr))
            close();
        if (!open)
            open = Storm{t.event_lane[i], i, i, 0, e.fault_rip, e.fault_addr, e.cr3, 0, 0, 0, std::nullopt};
        open->last = i;
        open->count++;
    }
    close();
    for (size_t f = 0; f < h.findings.size(); f++)
        for (auto& s : t.storms)
            if (h.findings[f].kind == FindingKind::FaultLivelock && h.events[s.first].seq == h.findings[f].seq)
                s.finding = f;
}

}  // namespace

Timeline build_timeline(const History& h, const TimelineLimits& limits)
{
    Timeline t;
    t.axis = choose_axis(h);
    for (size_t i = 0; i < h.events.size(); i++) {
        const TrapEvent& e = h.events[i];
        t.event_time.push_back(t.axis == TimeAxis::GuestNs ? static_cast<double>(e.guest_ns)
                                                           : static_cast<double>(e.seq));
        t.event_by_seq.emplace(e.seq, i);
    }
    if (!h.events.empty()) {
        t.t0 = *std::min_element(t.event_time.begin(), t.event_time.end());
        t.t1 = *std::max_element(t.event_time.begin(), t.event_time.end());
    }
    assign_lanes(h, limits, t);
    build_tenures(h, limits, t);
    build_storms(h, t);
    for (const auto& f : h.findings) {
        auto it = t.event_by_seq.find(f.seq);
        t.finding_event.push_back(it == t.event_by_seq.end() ? std::nullopt : std::optional<size_t>(it->second));
    }
    return t;
}

std::string format_duration_ns(uint64_t ns)
{
    char buf[32];
    if (ns >= 1000000)
        std::snprintf(buf, sizeof buf, "%.3g ms", static_cast<double>(ns) / 1e6);
    else if (ns >= 1000)
        std::snprintf(buf, sizeof buf, "%.3g us", static_cast<double>(ns) / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%llu ns", static_cast<unsigned long long>(ns));
    return buf;
}

std::string format_time(TimeAxis axis, double t)
{
    char buf[40];
    if (axis == TimeAxis::Seq)
        std::snprintf(buf, sizeof buf, "seq %.0f", t);
    else
        std::snprintf(buf, sizeof buf, "%.6f ms", t / 1e6);
    return buf;
}

std::string lane_label(const std::optional<TaskId>& task)
{
    if (!task)
        return "no task";
    return (task->name.empty() ? std::string("?") : task->name) + " (pid " + std::to_string(task->pid) + ")";
}

}  // namespace cr3rig::report
