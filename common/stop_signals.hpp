// SIGINT and SIGTERM while a campaign or `cr3rig test` runs: instead of ending the
// process at once (losing every result so far, and leaving children running), they
// are noted; the caller stops its workers or children and keeps what finished. The
// note is a byte on a pipe, so that a poll() on the children's fds wakes up for it
// however the signal and the poll interleave.
#pragma once

#include <csignal>

namespace cr3rig {

class StopSignals {
public:
    StopSignals();  // installs the handlers; one instance at a time
    ~StopSignals();  // the previous handlers again
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    int fd() const;      // readable once a signal came
    int signal() const;  // the first signal that came, 0 for none

    // In a forked worker: the default actions again, and the pipe closed, so that the
    // signal ends the worker (the parent keeps what the worker had sent).
    static void reset_in_child();

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

// "SIGINT", "SIGTERM", else "a signal".
const char* signal_name(int signo);

}  // namespace cr3rig
