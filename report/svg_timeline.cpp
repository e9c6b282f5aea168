#include "report/svg_timeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/hex.hpp"
#include "report/event_text.hpp"
#include "report/html_text.hpp"

namespace cr3rig::report {

namespace {

// Layout in SVG pixels. A lane: injections row, reads row, the CR3 bar (writes cross
// it), the faults/flushes row, which a storm's density band replaces.
constexpr int kLeft = 150, kPlotW = 1100, kRight = 40, kTop = 64, kLaneH = 62, kBottom = 40;
constexpr int kWidth = kLeft + kPlotW + kRight;
constexpr int kBarY = 24, kBarH = 16, kInjectY = 8, kReadY = 18, kWriteY = 32, kLowY = 49, kBandY = 43, kBandH = 15;
constexpr int kLabelRows = 3;
constexpr size_t kKinds = 5;  // EventKind values

int lane_top(size_t lane) { return kTop + static_cast<int>(lane) * kLaneH; }

// The time axis: [t0, t0 + span] onto [0, kPlotW]; 2% of room after the last event.
struct Axis {
    double t0 = 0, span = 1;
    double px(double t) const { return (t - t0) / span * kPlotW; }
};

Axis axis_of(const Timeline& t)
{
    double span = t.t1 - t.t0;
    return span > 0 ? Axis{t.t0, span * 1.02} : Axis{t.t0 - 0.5, 1.0};
}

std::string num(double v)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    std::string s = buf;
    return s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0 ? s.substr(0, s.size() - 2) : s;
}

const char* kind_class(EventKind k)
{
    switch (k) {
    case EventKind::Cr3Read: return "read";
    case EventKind::Cr3Write: return "write";
    case EventKind::Injection: return "inj";
    case EventKind::PageFault: return "fault";
    case EventKind::Flush: return "flush";
    }
    return "";
}

int kind_y(EventKind k)
{
    switch (k) {
    case EventKind::Cr3Read: return kReadY;
    case EventKind::Cr3Write: return kWriteY;
    case EventKind::Injection: return kInjectY;
    default: return kLowY;
    }
}

struct MarkCell {
    uint64_t count = 0;
    size_t first = 0, last = 0;  // event indices
};

struct Run {
    int c0, c1;        // columns [c0, c1)
    size_t key;        // pgd index * 2 + foreign
};

// Everything drawn per column at one column width.
struct Raster {
    int bucket = 1, cols = 0;
    std::vector<std::vector<Run>> runs;     // per lane
    std::map<uint64_t, MarkCell> marks;     // key: (lane * kKinds + kind) * cols + col
    std::vector<std::map<int, uint64_t>> storm_bars;  // per storm: column -> faults
    size_t elements = 0;
    bool aggregated = false;
};

Raster rasterize(const History& h, const Timeline& t, const Axis& axis, int bucket)
{
    Raster r;
    r.bucket = bucket;
    r.cols = (kPlotW + bucket - 1) / bucket;
    std::map<uint64_t, size_t> pgd_index;
    for (size_t i = 0; i < t.pgds.size(); i++)
        pgd_index[t.pgds[i]] = i;

    // Per lane and column, how long each (pgd, foreign) was held; the longest wins.
    std::vector<std::vector<std::vector<std::pair<size_t, double>>>> cover(
        t.lanes.size(), std::vector<std::vector<std::pair<size_t, double>>>(r.cols));
    auto add = [&](size_t lane, int col, size_t key, double amount) {
        auto& cell = cover[lane][col];
        for (auto& [k, a] : cell)
            if (k == key) {
                a += amount;
                return;
            }
        cell.emplace_back(key, amount);
    };
    for (size_t i = 0; i < t.tenures.size(); i++) {
        const Tenure& ten = t.tenures[i];
        auto listed = pgd_index.find(ten.pgd);  // a pgd past kHtmlLimits.max_pgds: the grey one after them
        size_t key = (listed == pgd_index.end() ? t.pgds.size() : listed->second) * 2 + (ten.foreign ? 1 : 0);
        double a = axis.px(ten.start);
        double b = i + 1 == t.tenures.size() ? kPlotW : axis.px(ten.end);  // the last one is held to the end
        if (b <= a) {
            add(ten.lane, std::clamp(static_cast<int>(a / bucket), 0, r.cols - 1), key, 1e-9);
            continue;
        }
        int c_end = std::min(r.cols - 1, static_cast<int>(std::ceil(b / bucket)) - 1);
        for (int c = std::max(0, static_cast<int>(a / bucket)); c <= c_end; c++)
            add(ten.lane, c, key, std::min(b, double((c + 1) * bucket)) - std::max(a, double(c * bucket)));
    }
    r.runs.resize(t.lanes.size());
    for (size_t lane = 0; lane < t.lanes.size(); lane++) {
        for (int c = 0; c < r.cols; c++) {
            const auto& cell = cover[lane][c];
            if (cell.empty())
                continue;
            size_t key = std::max_element(cell.begin(), cell.end(), [](auto& x, auto& y) { return x.second < y.second; })->first;
            auto& runs = r.runs[lane];
            if (!runs.empty() && runs.back().c1 == c && runs.back().key == key)
                runs.back().c1 = c + 1;
            else
                runs.push_back(Run{c, c + 1, key});
        }
        for (const Run& run : r.runs[lane])
            r.elements += 1 + (run.key % 2);
    }

    std::vector<bool> in_storm(h.events.size(), false);
    r.storm_bars.resize(std::min(t.storms.size(), kMaxStormsDrawn));
    for (size_t s = 0; s < r.storm_bars.size(); s++)
        for (size_t i = t.storms[s].first; i <= t.storms[s].last; i++)
            if (h.events[i].kind == EventKind::PageFault) {
                in_storm[i] = true;
                int col = std::clamp(static_cast<int>(axis.px(t.event_time[i]) / bucket), 0, r.cols - 1);
                r.storm_bars[s][col]++;
            }
    for (const auto& bars : r.storm_bars)
        r.elements += bars.size();
    for (size_t i = 0; i < h.events.size(); i++) {
        if (in_storm[i])
            continue;
        int col = std::clamp(static_cast<int>(axis.px(t.event_time[i]) / bucket), 0, r.cols - 1);
        uint64_t key = (t.event_lane[i] * kKinds + static_cast<size_t>(h.events[i].kind)) * r.cols + col;
        MarkCell& m = r.marks[key];
        if (m.count++ == 0)
            m.first = i;
        else
            r.aggregated = true;
        m.last = i;
    }
    r.elements += r.marks.size();
    return r;
}

// Ticks at 1, 2 or 5 times a power of ten, about eight across.
void draw_axis(std::string& out, const Timeline& t, const Axis& axis, int bottom)
{
    double raw = axis.span / 8, mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag * (raw / mag < 1.5 ? 1 : raw / mag < 3.5 ? 2 : raw / mag < 7.5 ? 5 : 10);
    if (t.axis == TimeAxis::Seq)
        step = std::max(1.0, std::round(step));
    double unit = t.axis == TimeAxis::GuestNs ? 1e6 : 1;  // labels in ms of guest time, or seq
    int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step / unit))));
    out += "<g class=\"axis\">";
    for (double v = std::ceil(axis.t0 / step) * step; v <= axis.t0 + axis.span; v += step) {
        std::string x = num(kLeft + axis.px(v));
        char label[40];
        std::snprintf(label, sizeof label, "%.*f", decimals, v / unit);
        out += "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + std::to_string(kTop - 4) + "\" y2=\"" +
               std::to_string(bottom) + "\"/><text x=\"" + x + "\" y=\"" + std::to_string(bottom + 14) +
               "\" text-anchor=\"middle\">" + label + "</text>";
    }
    out += "<text class=\"axis-title\" x=\"" + std::to_string(kLeft + kPlotW) + "\" y=\"" + std::to_string(bottom + 30) +
           "\" text-anchor=\"end\">" +
           (t.axis == TimeAxis::GuestNs ? "guest time, ms (kvmclock)" : "event seq (no usable guest time)") +
           "</text></g>";
}

// "CR3 0x80a000 (mm of A)"; past the pgds with a colour, the grey one stands for the rest.
std::string pgd_name(const Timeline& t, size_t pgd)
{
    if (pgd >= t.pgds.size())
        return "one of " + std::to_string(t.pgds_held - t.pgds.size()) + " other pgds";
    auto owner = t.pgd_owners.find(t.pgds[pgd]);
    return "CR3 " + hex(t.pgds[pgd]) + (owner == t.pgd_owners.end() ? "" : " (" + owner->second + ")");
}

void draw_lanes(std::string& out, const Timeline& t, const Raster& r)
{
    for (size_t lane = 0; lane < t.lanes.size(); lane++) {
        int y = lane_top(lane);
        out += "<g class=\"lane\" id=\"lane-" + std::to_string(lane) + "\"><rect class=\"lane-bg" +
               std::string(lane % 2 ? " odd" : "") + "\" x=\"0\" y=\"" + std::to_string(y) + "\" width=\"" +
               std::to_string(kWidth) + "\" height=\"" + std::to_string(kLaneH) + "\"/><text class=\"lane-label\" x=\"8\" y=\"" +
               std::to_string(y + kBarY + 12) + "\">" + escape_clipped(t.lanes[lane].label, 24) + "</text>";
        for (const Run& run : r.runs[lane]) {
            size_t pgd = run.key / 2;
            std::string geometry = "x=\"" + std::to_string(kLeft + run.c0 * r.bucket) + "\" y=\"" +
                                   std::to_string(y + kBarY) + "\" width=\"" +
                                   std::to_string((run.c1 - run.c0) * r.bucket) + "\" height=\"" +
                                   std::to_string(kBarH) + "\"";
            out += "<rect class=\"p" + std::to_string(pgd) + "\" " + geometry + "><title>" +
                   escape_clipped(t.lanes[lane].label) + " on " + escape_clipped(pgd_name(t, pgd)) +
                   (run.key % 2 ? ", not the task's own pgd" : "") + "</title></rect>";
            if (run.key % 2)
                out += "<rect class=\"foreign\" " + geometry + "/>";
        }
        out += "</g>";
    }
}

void draw_marks(std::string& out, const History& h, const Timeline& t, const Raster& r)
{
    out += "<g class=\"marks\">";
    for (const auto& [key, m] : r.marks) {
        int col = static_cast<int>(key % r.cols);
        const TrapEvent& e = h.events[m.first];
        std::string title = m.count == 1 ? event_summary(e)
                                         : std::to_string(m.count) + " " + name_of(e.kind) + " events, seq " +
                                               std::to_string(e.seq) + "-" + std::to_string(h.events[m.last].seq);
        out += "<use href=\"#m-" + std::string(kind_class(e.kind)) + "\" class=\"k-" + kind_class(e.kind) +
               "\" x=\"" + num(kLeft + (col + 0.5) * r.bucket) + "\" y=\"" +
               std::to_string(lane_top(t.event_lane[m.first]) + kind_y(e.kind)) + "\"><title>" + escape_clipped(title, 2 * kMaxTextBytes) +
               "</title></use>";
    }
    out += "</g>";
}

void draw_storms(std::string& out, const History& h, const Timeline& t, const Axis& axis, const Raster& r)
{
    for (size_t s = 0; s < r.storm_bars.size(); s++) {
        const Storm& storm = t.storms[s];
        int y = lane_top(storm.lane) + kBandY;
        double x0 = kLeft + axis.px(storm.start), x1 = std::max(kLeft + axis.px(storm.end), x0 + 3);
        uint64_t most = 1;
        for (const auto& [col, n] : r.storm_bars[s])
            most = std::max(most, n);
        std::string label = std::to_string(storm.count) + " faults" +
                            (storm.guest_ns ? ", " + format_duration_ns(storm.guest_ns) : std::string());
        out += "<g class=\"storm\" id=\"storm-" + std::to_string(s) + "\"><title>fault storm: " +
               std::to_string(storm.count) + " page faults at rip " + hex(storm.fault_rip) + " addr " +
               hex(storm.fault_addr) + " on CR3 " + hex(storm.cr3) + ", seq " + std::to_string(h.events[storm.first].seq) +
               "-" + std::to_string(h.events[storm.last].seq) + "</title><rect class=\"storm-band\" x=\"" + num(x0) +
               "\" y=\"" + std::to_string(y) + "\" width=\"" + num(x1 - x0) + "\" height=\"" + std::to_string(kBandH) + "\"/>";
        for (const auto& [col, n] : r.storm_bars[s]) {
            double bar = std::max(2.0, (kBandH - 2) * static_cast<double>(n) / static_cast<double>(most));
            out += "<rect class=\"storm-bar\" x=\"" + std::to_string(kLeft + col * r.bucket) + "\" y=\"" +
                   num(y + kBandH - 1 - bar) + "\" width=\"" + std::to_string(r.bucket) + "\" height=\"" + num(bar) + "\"/>";
        }
        bool fits_right = x1 + 8 + 7.0 * label.size() < kLeft + kPlotW + kRight;
        out += "<text class=\"storm-label\" x=\"" + num(fits_right ? x1 + 6 : x0 - 6) + "\" y=\"" +
               std::to_string(y + kBandH - 3) + "\" text-anchor=\"" + (fits_right ? "start" : "end") + "\">" +
               escape_html(label) + "</text></g>";
    }
}

std::string finding_label(const Finding& f, const Timeline& t)
{
    switch (f.kind) {
    case FindingKind::StaleCr3Write: return "stale-pgd write, seq " + std::to_string(f.seq);
    case FindingKind::Cr3NotActiveMm: return "CR3 is not active_mm's pgd, seq " + std::to_string(f.seq);
    case FindingKind::GuestDisagrees: return "the guest's count disagrees";
    case FindingKind::FaultLivelock:
        return "page-fault livelock: " + std::to_string(f.count) + " faults" +
               (t.axis == TimeAxis::GuestNs && f.guest_ns ? ", " + format_duration_ns(f.guest_ns) : "");
    }
    return "";
}

// A mark per finding, its label in the first free row above the lanes.
void draw_findings(std::string& out, const History& h, const Timeline& t, const Axis& axis, int bottom)
{
    std::vector<double> row_end(kLabelRows, -1e9);
    size_t drawn = 0;
    for (size_t f = 0; f < h.findings.size() && drawn < kMaxFindingMarks; f++) {
        const Finding& finding = h.findings[f];
        const Storm* storm = nullptr;
        for (const auto& s : t.storms)
            if (s.finding == f)
                storm = &s;
        if (!storm && !t.finding_event[f])
            continue;  // its event is not in the history: listed, not drawn
        drawn++;
        size_t lane = storm ? storm->lane : t.event_lane[*t.finding_event[f]];
        double x = kLeft + axis.px(storm ? storm->start : t.event_time[*t.finding_event[f]]);
        std::string label = finding_label(finding, t);
        double width = 6.6 * label.size();
        bool right = x + width + 6 < kWidth;
        double lx0 = right ? x : x - width;
        int row = 0;
        while (row < kLabelRows - 1 && row_end[row] > lx0 - 8)
            row++;
        row_end[row] = lx0 + width;
        int label_y = 16 + row * 15;
        int y = lane_top(lane);
        std::string cls = finding.kind == FindingKind::StaleCr3Write    ? "stale"
                          : finding.kind == FindingKind::Cr3NotActiveMm ? "mm"
                                                                        : "livelock";
        out += "<g class=\"finding-mark fm-" + cls + "\" id=\"finding-" + std::to_string(f + 1) + "\" tabindex=\"0\"><title>" +
               escape_clipped(describe(finding), kMaxSummaryBytes) + "</title><line class=\"finding-line\" x1=\"" + num(x) + "\" x2=\"" +
               num(x) + "\" y1=\"" + std::to_string(label_y + 3) + "\" y2=\"" + std::to_string(bottom) + "\"/>";
        if (storm) {
            double x1 = std::max(kLeft + axis.px(storm->end), x + 3);
            out += "<rect class=\"finding-ring\" x=\"" + num(x - 3) + "\" y=\"" + std::to_string(y + kBandY - 3) +
                   "\" width=\"" + num(x1 - x + 6) + "\" height=\"" + std::to_string(kBandH + 6) + "\" rx=\"4\"/>";
        } else {
            out += "<circle class=\"finding-ring\" cx=\"" + num(x) + "\" cy=\"" + std::to_string(y + kWriteY) +
                   "\" r=\"" + (cls == "mm" ? "16" : "11") + "\"/>";
        }
        out += "<text class=\"finding-label\" x=\"" + num(right ? x + 4 : x - 4) + "\" y=\"" + std::to_string(label_y) +
               "\" text-anchor=\"" + (right ? "start" : "end") + "\">" + escape_html(label) + "</text></g>";
    }
}

const char* kDefs =
    "<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
    "patternTransform=\"rotate(45)\"><rect width=\"2.5\" height=\"6\" fill=\"#000\" fill-opacity=\"0.45\"/></pattern>"
    "<path id=\"m-read\" d=\"M-4.5,-4 L4.5,-4 L0,4 Z\"/>"
    "<rect id=\"m-write\" x=\"-1.25\" y=\"-11\" width=\"2.5\" height=\"22\"/>"
    "<path id=\"m-inj\" d=\"M0,-5 L5,0 L0,5 L-5,0 Z\"/>"
    "<rect id=\"m-flush\" x=\"-3\" y=\"-3\" width=\"6\" height=\"6\"/>"
    "<circle id=\"m-fault\" r=\"2.8\"/></defs>";

// The timeline's own style, so the SVG reads the same cut out of the page.
const char* kStyle =
    "text{font:12px system-ui,sans-serif;fill:#222}.lane-bg{fill:#fff}.lane-bg.odd{fill:#f4f6f8}"
    ".lane-label{font-weight:600}.grid{stroke:#d0d4da;stroke-width:1}.axis text{fill:#555}"
    ".axis-title{font-style:italic}.foreign{fill:url(#hatch);pointer-events:none}"
    ".k-read{fill:#1f2937}.k-write{fill:#111}.k-inj{fill:#7c3aed}.k-flush{fill:#0e7490}.k-fault{fill:#b45309}"
    ".storm-band{fill:#c2410c;fill-opacity:.12;stroke:#c2410c;stroke-opacity:.5}.storm-bar{fill:#c2410c}"
    ".storm-label,.finding-label{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".storm-label{font-weight:600;fill:#9a3412}.finding-line{stroke:#d62728;stroke-width:1.2;stroke-dasharray:4 3}"
    ".finding-ring{fill:none;stroke:#d62728;stroke-width:2.5}.fm-mm .finding-ring{stroke-dasharray:3 2}"
    ".finding-label{font-weight:700;fill:#b91c1c}.finding-mark{cursor:pointer}"
    ".finding-mark.selected .finding-ring{stroke-width:4.5}.finding-mark.selected .finding-line{stroke-width:2.5}"
    ".empty{font-size:16px;fill:#666}";

}  // namespace

const char* const kOtherPgdColour = "#c9ccd1";

std::string pgd_colour(size_t index)
{
    // Tableau 10 without its red, which marks findings; then golden-angle hues.
    static const char* palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948",
                                    "#76b7b2", "#9c755f", "#ff9da7", "#bab0ac"};
    if (index < std::size(palette))
        return palette[index];
    char buf[40];
    std::snprintf(buf, sizeof buf, "hsl(%d,55%%,58%%)", static_cast<int>(std::fmod(index * 137.508, 360.0)));
    return buf;
}

SvgTimeline render_svg_timeline(const History& h, const Timeline& t)
{
    Axis axis = axis_of(t);
    Raster r = rasterize(h, t, axis, 1);
    while (r.elements > kMaxSvgElements && r.bucket < kPlotW)
        r = rasterize(h, t, axis, r.bucket * 2);

    int bottom = lane_top(std::max<size_t>(t.lanes.size(), 1));
    int height = bottom + kBottom;
    std::string out = "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                      std::to_string(kWidth) + " " + std::to_string(height) + "\" width=\"" + std::to_string(kWidth) +
                      "\" height=\"" + std::to_string(height) + "\" role=\"img\" aria-label=\"CR3 timeline\">" + kDefs +
                      "<style>" + kStyle;
    for (size_t i = 0; i < t.pgds.size(); i++)
        out += ".p" + std::to_string(i) + "{fill:" + pgd_colour(i) + "}";
    if (t.pgds_held > t.pgds.size())
        out += ".p" + std::to_string(t.pgds.size()) + "{fill:" + kOtherPgdColour + "}";
    out += "</style>";
    if (h.events.empty()) {
        out += "<text x=\"" + std::to_string(kWidth / 2) + "\" y=\"" + std::to_string(kTop + 20) +
               "\" text-anchor=\"middle\" class=\"empty\">no events recorded</text></svg>";
        return {out, 0, 1, false};
    }
    draw_lanes(out, t, r);
    draw_axis(out, t, axis, bottom);
    draw_storms(out, h, t, axis, r);
    draw_marks(out, h, t, r);
    draw_findings(out, h, t, axis, bottom);
    out += "</svg>";
    return {out, r.elements, r.bucket, r.aggregated};
}

}  // namespace cr3rig::report
