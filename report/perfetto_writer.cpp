#include "report/perfetto_writer.hpp"

#include <nlohmann/json.hpp>

#include "common/hex.hpp"
#include "report/event_text.hpp"
#include "report/timeline.hpp"

namespace cr3rig::report {

namespace {

using nlohmann::json;

constexpr int kPid = 1;
// Storm threads sit after the task threads: tid = kStormTidBase + lane.
constexpr int kStormTidBase = 100000;

// Trace-event timestamps are microseconds. On the seq axis one event is one microsecond.
double ts_of(const Timeline& t, double time) { return t.axis == TimeAxis::GuestNs ? time / 1000.0 : time; }

int tid_of(size_t lane) { return static_cast<int>(lane) + 1; }

json metadata(const char* name, int tid, json args)
{
    return {{"ph", "M"}, {"name", name}, {"pid", kPid}, {"tid", tid}, {"ts", 0}, {"args", std::move(args)}};
}

json event_args(const TrapEvent& e)
{
    json args{{"seq", e.seq}, {"rip", hex(e.rip)}, {"symbol", e.symbol}, {"value", event_value(e)}, {"cr3", hex(e.cr3)}};
    if (e.active_mm_pgd)
        args["active_mm_pgd"] = hex(*e.active_mm_pgd);
    if (e.own_mm_pgd)
        args["mm_pgd"] = hex(*e.own_mm_pgd);
    return args;
}

}  // namespace

void write_perfetto_json(const History& h, std::ostream& out)
{
    Timeline t = build_timeline(h);
    json events = json::array();
    events.push_back(metadata("process_name", 0, {{"name", "cr3rig guest " + h.run.guest}}));
    for (size_t lane = 0; lane < t.lanes.size(); lane++) {
        events.push_back(metadata("thread_name", tid_of(lane), {{"name", t.lanes[lane].label}}));
        events.push_back(metadata("thread_sort_index", tid_of(lane), {{"sort_index", static_cast<int>(lane) * 2}}));
    }

    for (const auto& ten : t.tenures)
        events.push_back({{"ph", "X"}, {"name", hex(ten.pgd)}, {"cat", "cr3"}, {"pid", kPid},
                          {"tid", tid_of(ten.lane)}, {"ts", ts_of(t, ten.start)},
                          {"dur", ts_of(t, ten.end) - ts_of(t, ten.start)},
                          {"args", {{"pgd", hex(ten.pgd)}, {"from_seq", ten.first_seq},
                                    {"task_own_pgd", ten.foreign ? "no" : "yes or unknown"}}}});

    // Faults inside a storm are the storm's slice, not instants of their own.
    std::vector<bool> in_storm(h.events.size(), false);
    std::vector<bool> storm_thread(t.lanes.size(), false);
    for (const auto& s : t.storms) {
        for (size_t i = s.first; i <= s.last; i++)
            in_storm[i] = h.events[i].kind == EventKind::PageFault;
        int tid = kStormTidBase + static_cast<int>(s.lane);
        if (!storm_thread[s.lane]) {
            storm_thread[s.lane] = true;
            events.push_back(metadata("thread_name", tid, {{"name", t.lanes[s.lane].label + " fault storms"}}));
            events.push_back(metadata("thread_sort_index", tid, {{"sort_index", static_cast<int>(s.lane) * 2 + 1}}));
        }
        json args{{"count", s.count}, {"fault_rip", hex(s.fault_rip)}, {"fault_addr", hex(s.fault_addr)},
                  {"cr3", hex(s.cr3)}, {"first_seq", h.events[s.first].seq}, {"last_seq", h.events[s.last].seq},
                  {"guest_ns", s.guest_ns}, {"livelock_finding", s.finding.has_value()}};
        events.push_back({{"ph", "X"}, {"name", "fault storm (" + std::to_string(s.count) + " faults)"},
                          {"cat", "page_fault"}, {"pid", kPid}, {"tid", tid}, {"ts", ts_of(t, s.start)},
                          {"dur", ts_of(t, s.end) - ts_of(t, s.start)}, {"args", std::move(args)}});
    }

    for (size_t i = 0; i < h.events.size(); i++) {
        if (in_storm[i])
            continue;
        const TrapEvent& e = h.events[i];
        events.push_back({{"ph", "i"}, {"s", "t"}, {"name", name_of(e.kind)}, {"cat", name_of(e.kind)},
                          {"pid", kPid}, {"tid", tid_of(t.event_lane[i])}, {"ts", ts_of(t, t.event_time[i])},
                          {"args", event_args(e)}});
    }

    for (size_t f = 0; f < h.findings.size(); f++) {
        const Finding& finding = h.findings[f];
        double ts = t.finding_event[f] ? t.event_time[*t.finding_event[f]] : t.t1;
        events.push_back({{"ph", "i"}, {"s", "g"}, {"name", name_of(finding.kind)}, {"cat", "finding"},
                          {"pid", kPid}, {"tid", 0}, {"ts", ts_of(t, ts)},
                          {"args", {{"seq", finding.seq}, {"summary", finding.summary}, {"value", hex(finding.value)},
                                    {"expected", hex(finding.expected)}}}});
    }

    json other{{"format", kHistoryFormat}, {"history", h.name}, {"guest", h.run.guest}, {"inject", h.run.inject},
               {"backend", h.run.backend},
               {"time_axis", t.axis == TimeAxis::GuestNs ? "guest_ns" : "seq (1 us per event)"}};
    if (h.verdict)
        other["verdict"] = h.verdict->verdict + (h.verdict->reason.empty() ? "" : ": " + h.verdict->reason);
    json doc{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}, {"otherData", std::move(other)}};
    out << doc.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
}

}  // namespace cr3rig::report
