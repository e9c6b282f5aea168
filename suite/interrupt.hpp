// SIGINT and SIGTERM while `cr3rig test` runs: instead of dying with its `cr3rig run`
// children left running and its reports empty, the runner notices (poll() on a
// self-pipe), stops starting tests, ends the children, and writes what finished.
#pragma once

namespace cr3rig::suite {

// Catches SIGINT and SIGTERM for its lifetime; the previous handlers come back after.
// One at a time (the handler writes to this process's one pipe).
class InterruptWatch {
public:
    InterruptWatch();
    ~InterruptWatch();
    InterruptWatch(const InterruptWatch&) = delete;
    InterruptWatch& operator=(const InterruptWatch&) = delete;

    // Readable once a signal came: poll() it with the children's pidfds.
    int fd() const { return read_fd_; }
    // The signal that came (SIGINT or SIGTERM), or 0.
    int signal() const;

private:
    int read_fd_ = -1;
};

}  // namespace cr3rig::suite
