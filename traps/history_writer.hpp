// The CR3 history as JSON Lines (schema: docs/trace-format.md). Records are buffered
// and written in large chunks, so tracing adds almost nothing to the time the vCPU
// spends stopped; each chunk ends on a record boundary, so a killed run leaves a
// valid prefix.
#pragma once

#include <cstdio>
#include <string>

#include "trap_event.hpp"

namespace cr3rig {

class HistoryWriter {
public:
    // Throws BadInput if the file cannot be created.
    explicit HistoryWriter(const std::string& path);
    HistoryWriter(const HistoryWriter&) = delete;
    HistoryWriter& operator=(const HistoryWriter&) = delete;
    ~HistoryWriter();

    void header(const std::string& guest, const std::string& policy, const std::string& backend);
    void event(const TrapEvent& event);
    void finding(const Finding& finding);
    void verdict(const std::string& verdict, const std::string& reason);
    void flush();

private:
    void line(const std::string& json);

    std::FILE* file_;
    std::string buffer_;
};

}  // namespace cr3rig
