#include "report/timeline.hpp"

#include <algorithm>
#include <cstdio>
#include <tuple>

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

void assign_lanes(const History& h, Timeline& t)
{
    std::map<LaneKey, size_t> index;
    for (const auto& e : h.events)
        index.emplace(key_of(e), 0);
    for (auto& [key, i] : index) {  // std::map order: task-less first, then by pid
        i = t.lanes.size();
        t.lanes.push_back(key.has_task ? Lane{TaskId{key.pid, key.name}, ""} : Lane{std::nullopt, ""});
        t.lanes.back().label = lane_label(t.lanes.back().task);
    }
    for (const auto& e : h.events)
        t.event_lane.push_back(index[key_of(e)]);
}

uint64_t cr3_after(const TrapEvent& e) { return e.kind == EventKind::Cr3Write ? e.value : e.cr3; }

void build_tenures(const History& h, Timeline& t)
{
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
        if (std::find(t.pgds.begin(), t.pgds.end(), pgd) == t.pgds.end())
            t.pgds.push_back(pgd);
    }
    if (!t.tenures.empty())
        t.tenures.back().end = t.t1;
    for (const auto& e : h.events)
        if (e.own_mm_pgd && e.task && !t.pgd_owners.count(*e.own_mm_pgd))
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

Timeline build_timeline(const History& h)
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
    assign_lanes(h, t);
    build_tenures(h, t);
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
