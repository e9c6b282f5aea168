// `cr3rig trace --to html` and `cr3rig run --report`: one self-contained HTML page (no
// network, no external scripts or fonts): the run, the SVG timeline (svg_timeline.hpp),
// the pgd and marker legend, a findings panel whose entries link to their marks on
// the timeline (clicking scrolls to the mark and highlights it; clicking a mark
// highlights its entry), the fault storms, and the events around each finding.
//
// The page's script checks itself when it loads and writes what it found into
// <pre id="report-selfcheck">: "findings-listed: N", one line per finding with its
// target, "highlight: ok|failed", and "errors: none" or the script errors it caught.
// Tests read it from the DOM of a headless browser.
#pragma once

#include <ostream>
#include <string>

#include "report/history.hpp"

namespace cr3rig::report {

void write_html_report(const History& history, std::ostream& out);

// The same into a file; throws BadInput if it cannot be written.
void write_html_report_file(const History& history, const std::string& path);

}  // namespace cr3rig::report
