// The SVG timeline of the HTML report: a lane per task with the CR3 it held (a colour
// per pgd), markers for reads, writes, injections, flushes and page faults, fault
// storms as density bands, and a mark per finding (id "finding-N", 1-based, the
// target of the findings panel's links).
//
// Dense histories are aggregated: time is cut into columns `bucket_px` wide, each lane
// shows per column the pgd held longest and one marker per event kind (its tooltip
// gives the count), and the column width doubles until the drawing stays under
// kMaxSvgElements. So 10 events and 100,000 both draw, in bounded size.
//
// Wide histories are bounded too (kHtmlLimits): at most 40 lanes, the last one shared
// by the tasks past 39 ("19961 other tasks"); 24 pgds with a colour of their own, the
// rest grey; the first kMaxStormsDrawn fault storms as bands, the faults of any other
// as ordinary marks.
#pragma once

#include <cstddef>
#include <string>

#include "report/history.hpp"
#include "report/timeline.hpp"

namespace cr3rig::report {

inline constexpr size_t kMaxSvgElements = 8000;  // shapes for tenures, markers and storm bars
inline constexpr size_t kMaxFindingMarks = 200;  // findings drawn on the timeline
inline constexpr size_t kMaxStormsDrawn = 100;   // fault storms drawn as bands
inline constexpr TimelineLimits kHtmlLimits{40, 24};

struct SvgTimeline {
    std::string svg;
    size_t elements = 0;   // shapes drawn for tenures, markers and storm bars
    int bucket_px = 1;     // width of a time column in pixels
    bool aggregated = false;  // some column holds more than one event of a kind
};

SvgTimeline render_svg_timeline(const History& history, const Timeline& timeline);

// The colour of the i-th pgd of Timeline::pgds, as a CSS colour; the pgds past
// kHtmlLimits.max_pgds are all drawn in kOtherPgdColour.
std::string pgd_colour(size_t index);
extern const char* const kOtherPgdColour;

}  // namespace cr3rig::report
