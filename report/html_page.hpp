// The fixed parts of the HTML report: its style sheet and its script.
#pragma once

namespace cr3rig::report {

extern const char* const kReportCss;
// Collects script errors from the start of the page (it goes in <head>).
extern const char* const kErrorCollectorJs;
// Wires findings links and marks, then writes the self-check (end of <body>).
extern const char* const kReportJs;

}  // namespace cr3rig::report
