// `cr3rig run --report FILE`: the HTML report of a run. The run's CR3 history goes to
// its --trace file when it has one, else to a temporary file that is read back for
// the report and removed; either way the report is exactly what `cr3rig trace --to
// html` makes of the history.
#pragma once

#include <string>

namespace cr3rig::cli {

class RunReport {
public:
    // Throws BadInput if `report_path` cannot be written (checked before the run).
    RunReport(std::string report_path, std::string trace_path);
    RunReport(const RunReport&) = delete;
    RunReport& operator=(const RunReport&) = delete;
    ~RunReport();

    // Where the run must write its history.
    const std::string& history_path() const { return history_path_; }
    // Reads the finished history and writes the report; a write that fails then is a
    // host I/O error (std::runtime_error naming the path, exit 3), as during the run.
    void write() const;

private:
    std::string report_path_;
    std::string history_path_;
    bool temporary_ = false;
};

}  // namespace cr3rig::cli
