// A CR3 history (docs/trace-format.md) as values: what `cr3rig run --trace` wrote, read
// back, or what a caller collected in memory from the trap engine. The report views
// (HTML, Perfetto, text) all take one of these. Events and findings are the trap
// engine's own types, so a history built in memory and one read from a file are the same.
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "common/trap_event.hpp"
#include "common/verdict.hpp"

namespace cr3rig::report {

inline constexpr const char* kHistoryFormat = "cr3rig-history/1";

// The `run` line.
struct RunHeader {
    std::string guest;
    std::string inject;   // the injection policy
    std::string backend;  // how the sites were trapped
};

// The `verdict` line: PASS, FAIL, CRASH or TIMEOUT, and why. `verdict` is the text as
// written, shown as it is; kind() is what it names, none for a text no verdict has.
struct RunVerdict {
    std::string verdict;
    std::string reason;

    std::optional<VerdictKind> kind() const { return verdict_kind_named(verdict); }
};

struct History {
    std::string name;  // where it came from (a file name), for titles and messages
    RunHeader run;
    std::vector<TrapEvent> events;    // in the order they happened
    std::vector<Finding> findings;    // in the order they were reported
    std::optional<RunVerdict> verdict;  // none: the run did not finish (killed, or still running)
    // Every event carried guest_ns. When not, the views use seq as their time axis.
    bool has_guest_time = true;
    // What the reader tolerated (a truncated last line, unknown record types...).
    std::vector<std::string> warnings;
};

// Reads a `cr3rig-history/1` JSON Lines stream. `name` prefixes messages
// ("buggy.jsonl line 7: ...").
// - Throws BadInput (one line, with the line number) for a malformed line, a record
//   with a missing or mistyped field, an unknown finding kind, a missing run header,
//   an unknown format version, or an input with no lines at all.
// - Accepts, with a warning in History::warnings: a last line cut short without its
//   newline (a killed run leaves a valid prefix and a partial line), records of an
//   unknown type (skipped), and a missing verdict line.
// A header with no events is a valid, empty history.
History read_history(std::istream& in, const std::string& name);

// The same from a file; throws BadInput if it cannot be opened.
History read_history_file(const std::string& path);

}  // namespace cr3rig::report
