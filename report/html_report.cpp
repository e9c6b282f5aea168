#include "report/html_report.hpp"

#include <algorithm>
#include <fstream>

#include "common/errors.hpp"
#include "common/hex.hpp"
#include "report/event_text.hpp"
#include "report/html_page.hpp"
#include "report/html_text.hpp"
#include "report/svg_timeline.hpp"
#include "report/timeline.hpp"

namespace cr3rig::report {

namespace {

constexpr size_t kContextEvents = 6;  // events shown before and after a finding's own

std::string verdict_badge(const History& h)
{
    if (!h.verdict)
        return "<span class=\"verdict v-none\">INCOMPLETE</span>";
    auto kind = h.verdict->kind();
    bool coloured = kind == VerdictKind::Pass || kind == VerdictKind::Fail;
    std::string cls = coloured ? std::string(name_of(*kind)) : "other";
    return "<span class=\"verdict v-" + cls + "\">" + escape_html(h.verdict->verdict) + "</span>";
}

// Says what a wide history's page puts together or leaves out (kHtmlLimits), so that
// nobody takes the page for all of the history.
void write_limits_note(const Timeline& t, std::ostream& out)
{
    size_t merged = t.lanes.empty() ? 0 : t.lanes.back().tasks;
    if (merged > 1)
        out << " · <span class=\"limits\">wide: " << t.tasks << " tasks; the " << t.lanes.size() - 1
            << " with findings or the most events have a lane each, the other " << merged
            << " share the last lane</span>";
    if (t.pgds_held > t.pgds.size())
        out << " · <span class=\"limits\">" << t.pgds.size() << " of " << t.pgds_held
            << " pgds have a colour of their own, the others are grey</span>";
}

// The listings stop after this many entries and say how many they left out.
void write_left_out(size_t left_out, const char* what, std::ostream& out)
{
    if (left_out)
        out << "<p class=\"none left-out\">" << left_out << " more " << what
            << " not shown here: <code>cr3rig trace FILE --to text</code> lists them all.</p>";
}

void write_header(const History& h, const Timeline& t, const SvgTimeline& svg, std::ostream& out)
{
    out << "<header><h1>cr3rig CR3 history: " << escape_clipped(h.run.guest.empty() ? h.name : h.run.guest)
        << verdict_badge(h) << "</h1><div class=\"meta\">";
    if (h.verdict && !h.verdict->reason.empty())
        out << escape_clipped(h.verdict->reason, kMaxSummaryBytes) << "<br>";
    out << "inject <code>" << escape_clipped(h.run.inject) << "</code> · " << escape_clipped(h.run.backend) << "<br>"
        << h.events.size() << " events, " << t.lanes.size() << " task lane(s), " << h.findings.size()
        << " finding(s), " << t.storms.size() << " fault storm(s)";
    if (!h.events.empty())
        out << " · " << format_time(t.axis, t.t0) << " to " << format_time(t.axis, t.t1);
    if (svg.aggregated)
        out << " · dense: one mark per event kind per " << svg.bucket_px << " px column (its tooltip gives the count)";
    write_limits_note(t, out);
    out << " · from <code>" << escape_clipped(h.name) << "</code></div></header>\n<main>\n";
    if (!h.warnings.empty()) {
        out << "<div class=\"warnings\"><b>Read with warnings:</b><ul>";
        for (const auto& w : h.warnings)
            out << "<li>" << escape_clipped(w, kMaxSummaryBytes) << "</li>";
        out << "</ul></div>\n";
    }
}

std::string marker_icon(const char* kind)
{
    return "<svg width=\"16\" height=\"24\" viewBox=\"-8 -12 16 24\"><use href=\"#m-" + std::string(kind) +
           "\" class=\"k-" + kind + "\"/></svg>";
}

void write_legend(const Timeline& t, std::ostream& out)
{
    out << "<div class=\"legend\"><b>CR3 held:</b>";
    for (size_t i = 0; i < t.pgds.size(); i++) {
        auto owner = t.pgd_owners.find(t.pgds[i]);
        // The space is streamed, not " " + escape_html(...): prepending to a temporary
        // (string::insert(0, ...)) gets a false -Werror=restrict from g++ 12 at -O3 (GCC PR 105329).
        out << "<span><i class=\"swatch\" style=\"background:" << pgd_colour(i) << "\"></i><code>" << hex(t.pgds[i])
            << "</code>";
        if (owner != t.pgd_owners.end())
            out << ' ' << escape_clipped(owner->second);
        out << "</span>";
    }
    if (t.pgds_held > t.pgds.size())
        out << "<span><i class=\"swatch\" style=\"background:" << kOtherPgdColour << "\"></i>"
            << t.pgds_held - t.pgds.size() << " other pgds (not listed)</span>";
    out << "<span><i class=\"swatch hatched\"></i>not the task's own pgd</span></div>\n<div class=\"legend\"><b>Marks:</b>"
        << "<span>" << marker_icon("read") << "CR3 read</span><span>" << marker_icon("write") << "CR3 write</span>"
        << "<span>" << marker_icon("inj") << "injected timer interrupt</span><span>" << marker_icon("flush")
        << "flush (invlpg, invpcid, CR4)</span><span>" << marker_icon("fault") << "page fault</span>"
        << "<span><i class=\"swatch\" style=\"background:#c2410c55\"></i>fault storm (bar height: faults per column)</span>"
        << "<span><i class=\"swatch\" style=\"border:2px solid #d62728\"></i>finding</span></div>\n";
}

void write_context(const History& h, const Timeline& t, size_t at, std::ostream& out)
{
    size_t from = at > kContextEvents ? at - kContextEvents : 0;
    size_t to = std::min(h.events.size(), at + kContextEvents + 1);
    out << "<details><summary>events around it</summary><table class=\"context\"><tr><th>time</th><th>seq</th>"
        << "<th>task</th><th>event</th><th>value</th><th>symbol</th></tr>";
    for (size_t i = from; i < to; i++) {
        const TrapEvent& e = h.events[i];
        out << "<tr" << (i == at ? " class=\"at\"" : "") << "><td>" << format_time(t.axis, t.event_time[i])
            << "</td><td>" << e.seq << "</td><td>" << escape_clipped(lane_label(e.task)) << "</td><td>"
            << name_of(e.kind) << "</td><td>" << escape_html(event_value(e)) << "</td><td>" << escape_clipped(e.symbol)
            << "</td></tr>";
    }
    out << "</table></details>";
}

void write_findings(const History& h, const Timeline& t, std::ostream& out)
{
    out << "<section id=\"findings\"><h2>Findings (" << h.findings.size() << ")</h2>";
    if (h.findings.empty())
        out << "<p class=\"none\">None: no detector fired" << (h.verdict ? "" : " in what was recorded") << ".</p>";
    out << "<ol class=\"findings\">";
    size_t listed = std::min(h.findings.size(), kMaxFindingMarks);
    for (size_t f = 0; f < listed; f++) {
        const Finding& finding = h.findings[f];
        std::string n = std::to_string(f + 1);
        auto storm = std::find_if(t.storms.begin(), t.storms.end(), [&](const Storm& s) { return s.finding == f; });
        std::optional<size_t> at = storm != t.storms.end() ? std::optional<size_t>(storm->first) : t.finding_event[f];
        bool drawn = at && f < kMaxFindingMarks;
        out << "<li class=\"finding\" id=\"finding-entry-" << n << "\" data-kind=\"" << name_of(finding.kind)
            << "\" data-seq=\"" << finding.seq << "\">";
        if (drawn)
            out << "<a class=\"finding-link\" data-finding=\"" << n << "\" href=\"#finding-" << n << "\">"
                << name_of(finding.kind) << "</a>";
        else
            out << "<b>" << name_of(finding.kind) << "</b> (not on the timeline: its event is not in the history)";
        out << " at seq " << finding.seq;
        if (at)
            out << " · " << format_time(t.axis, t.event_time[*at]) << " · " << escape_clipped(lane_label(h.events[*at].task));
        out << "<div>" << escape_clipped(finding.summary, kMaxSummaryBytes) << "</div>";
        if (at)
            write_context(h, t, *at, out);
        out << "</li>";
    }
    out << "</ol>";
    write_left_out(h.findings.size() - listed, "findings", out);
    out << "</section>\n";
}

void write_storms(const History& h, const Timeline& t, std::ostream& out)
{
    out << "<section id=\"storms\"><h2>Fault storms (" << t.storms.size() << ")</h2>";
    if (t.storms.empty())
        out << "<p class=\"none\">No run of " << kStormMinFaults << " or more page faults at one address.</p>";
    out << "<ul>";
    size_t listed = std::min(t.storms.size(), kMaxStormsDrawn);
    for (size_t s = 0; s < listed; s++) {
        const Storm& storm = t.storms[s];
        auto owner = t.pgd_owners.find(storm.cr3);
        out << "<li><a href=\"#storm-" << s << "\">" << storm.count << " faults</a>"
            << (storm.guest_ns ? " in " + format_duration_ns(storm.guest_ns) : "") << ", task "
            << escape_clipped(lane_label(h.events[storm.first].task)) << ", at rip <code>" << hex(storm.fault_rip)
            << "</code> addr <code>" << hex(storm.fault_addr) << "</code> on CR3 <code>" << hex(storm.cr3) << "</code>"
            << (owner == t.pgd_owners.end() ? "" : " (" + escape_clipped(owner->second) + ")") << ", seq "
            << h.events[storm.first].seq << "-" << h.events[storm.last].seq
            << (storm.finding ? " · reported as a page-fault livelock" : "") << "</li>";
    }
    out << "</ul>";
    write_left_out(t.storms.size() - listed, "fault storms (their faults are drawn as single marks)", out);
    out << "</section>\n";
}

}  // namespace

void write_html_report(const History& h, std::ostream& out)
{
    Timeline t = build_timeline(h, kHtmlLimits);
    SvgTimeline svg = render_svg_timeline(h, t);
    std::string title = "cr3rig: " + (h.run.guest.empty() ? h.name : h.run.guest) +
                        (h.verdict ? " " + h.verdict->verdict : std::string(" (incomplete)"));
    out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        << "<title>" << escape_clipped(title) << "</title><style>" << kReportCss << "</style><script>"
        << kErrorCollectorJs << "</script></head>\n<body>\n";
    write_header(h, t, svg, out);
    out << "<section><h2>Timeline: the CR3 each task held</h2><div class=\"timeline-box\">" << svg.svg << "</div>\n";
    write_legend(t, out);
    out << "</section>\n<div class=\"columns\">";
    write_findings(h, t, out);
    write_storms(h, t, out);
    out << "</div>\n<details class=\"selfcheck\"><summary>report self-check</summary>"
        << "<pre id=\"report-selfcheck\">the page script did not run</pre></details>\n</main>\n<script>" << kReportJs
        << "</script>\n</body></html>\n";
}

void write_html_report_file(const History& history, const std::string& path)
{
    std::ofstream out(path, std::ios::binary);
    if (!out)
        throw BadInput("cannot write report " + path);
    write_html_report(history, out);
    out.flush();
    if (!out)
        throw BadInput("cannot write report " + path);
}

}  // namespace cr3rig::report
