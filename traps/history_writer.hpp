// The CR3 history as JSON Lines (schema: docs/trace-format.md). Records are buffered
// and written in chunks, so tracing adds almost nothing to the time the vCPU spends
// stopped. Each chunk is whole records and goes out in one write(2), once it is
// kFlushInterval old (checked at every VM exit), and at once for findings and the verdict:
// a run killed even by SIGKILL leaves a valid prefix, short of at most that much.
// A write that fails (disk full, /dev/full) throws HistoryWriteError naming the file.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

#include "common/trap_event.hpp"

namespace cr3rig {

// The history could not be written during the run: a host-side I/O error (exit 3).
class HistoryWriteError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

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
    void flush();  // throws HistoryWriteError
    void flush_if_due();  // the trap engine calls it at every exit

    static constexpr auto kFlushInterval = std::chrono::milliseconds(100);

private:
    void line(const std::string& json);

    std::string path_;
    int fd_;
    std::string buffer_;
    std::chrono::steady_clock::time_point first_buffered_;
};

}  // namespace cr3rig
