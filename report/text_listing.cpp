#include "report/text_listing.hpp"

#include <algorithm>
#include <cstdio>

#include "common/hex.hpp"
#include "report/event_text.hpp"
#include "report/timeline.hpp"

namespace cr3rig::report {

namespace {

std::string pad(const std::string& s, size_t width, bool right = false)
{
    if (s.size() >= width)
        return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

std::string time_cell(TimeAxis axis, double t)
{
    if (axis == TimeAxis::Seq)
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", t / 1e6);
    return buf;
}

// What the history notes at an event: the findings it established, a storm beginning.
std::vector<std::string> notes_by_event(const History& h, const Timeline& t)
{
    std::vector<std::string> notes(h.events.size());
    auto add = [&](size_t i, const std::string& note) { notes[i] += (notes[i].empty() ? "<< " : ", ") + note; };
    for (size_t f = 0; f < h.findings.size(); f++)
        if (t.finding_event[f] && h.findings[f].kind != FindingKind::FaultLivelock)
            add(*t.finding_event[f], name_of(h.findings[f].kind));
    for (const auto& s : t.storms)
        add(s.first, "fault storm begins" + std::string(s.finding ? " (page-fault-livelock)" : ""));
    return notes;
}

std::string storm_line(const Storm& s, const History& h, const Timeline& t)
{
    std::string span = s.guest_ns ? " over " + format_duration_ns(s.guest_ns) : "";
    return std::to_string(s.count) + " faults at rip " + hex(s.fault_rip) + " addr " + hex(s.fault_addr) + " on CR3 " +
           hex(s.cr3) + ", task " + t.lanes[s.lane].label + ", seq " + std::to_string(h.events[s.first].seq) + "-" +
           std::to_string(h.events[s.last].seq) + span;
}

}  // namespace

void write_text_listing(const History& h, std::ostream& out)
{
    Timeline t = build_timeline(h);
    out << "history  " << h.name << ": " << (h.run.guest.empty() ? "?" : h.run.guest) << ", inject "
        << (h.run.inject.empty() ? "?" : h.run.inject) << " (" << h.run.backend << ")\n";
    out << "events   " << h.events.size() << ", " << h.findings.size() << " finding(s), " << t.storms.size()
        << " fault storm(s); time " << (t.axis == TimeAxis::GuestNs ? "in ms of guest time (guest_ns)" : "axis: seq")
        << "\n";
    for (const auto& w : h.warnings)
        out << "warning  " << w << "\n";

    // Which page faults are folded: every one inside a storm but its first and last.
    std::vector<bool> folded(h.events.size(), false);
    std::vector<const Storm*> storm_at(h.events.size(), nullptr);
    for (const auto& s : t.storms) {
        storm_at[s.first] = &s;
        for (size_t i = s.first + 1; i < s.last; i++)
            folded[i] = h.events[i].kind == EventKind::PageFault;
    }
    std::vector<std::string> notes = notes_by_event(h, t);

    size_t w_time = 10, w_seq = 3, w_task = 4, w_event = 10, w_value = 5, w_symbol = 6;
    for (size_t i = 0; i < h.events.size(); i++) {
        const TrapEvent& e = h.events[i];
        w_time = std::max(w_time, time_cell(t.axis, t.event_time[i]).size());
        w_seq = std::max(w_seq, std::to_string(e.seq).size());
        w_task = std::max(w_task, t.lanes[t.event_lane[i]].label.size());
        w_value = std::max(w_value, event_value(e).size());
        w_symbol = std::max(w_symbol, e.symbol.size());
    }
    w_symbol = std::min<size_t>(w_symbol, 28);
    auto row = [&](const std::string& time, const std::string& seq, const std::string& task, const std::string& event,
                   const std::string& value, const std::string& symbol, const std::string& note) {
        std::string line = pad(time, w_time, true) + "  " + pad(seq, w_seq, true) + "  " + pad(task, w_task) + "  " +
                           pad(event, w_event) + "  " + pad(value, w_value) + "  " + pad(symbol, w_symbol) + "  " + note;
        line.erase(line.find_last_not_of(' ') + 1);
        out << line << "\n";
    };

    out << "\n";
    row(t.axis == TimeAxis::GuestNs ? "time ms" : "time", "seq", "task", "event", "value", "symbol", "");
    for (size_t i = 0; i < h.events.size(); i++) {
        if (folded[i])
            continue;
        const TrapEvent& e = h.events[i];
        row(time_cell(t.axis, t.event_time[i]), std::to_string(e.seq), t.lanes[t.event_lane[i]].label, name_of(e.kind),
            event_value(e), e.symbol, notes[i]);
        if (const Storm* s = storm_at[i]; s && s->count > 2)
            out << pad("", w_time + w_seq + 4) << "... " << s->count - 2 << " more page faults at the same rip and address\n";
    }
    if (h.events.empty())
        out << "(no events recorded)\n";

    out << "\nfindings (" << h.findings.size() << ")\n";
    for (size_t f = 0; f < h.findings.size(); f++)
        out << "  " << f + 1 << ". " << pad(name_of(h.findings[f].kind), 20) << " seq " << h.findings[f].seq << ": "
            << h.findings[f].summary << "\n";
    if (!t.storms.empty()) {
        out << "\nfault storms (" << t.storms.size() << ")\n";
        for (const auto& s : t.storms)
            out << "  " << storm_line(s, h, t) << (s.finding ? "  [page-fault-livelock]" : "") << "\n";
    }
    out << "\nverdict  ";
    if (h.verdict)
        out << h.verdict->verdict << (h.verdict->reason.empty() ? "" : ": " + h.verdict->reason) << "\n";
    else
        out << "none: the run did not finish\n";
}

}  // namespace cr3rig::report
