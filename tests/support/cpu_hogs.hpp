// Processes that keep every CPU busy while a test runs, to load the host the way other
// CI jobs do. They spin until the object goes away, which kills and reaps them.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace cr3rig::testing {

class CpuHogs {
public:
    explicit CpuHogs(unsigned count)
    {
        for (unsigned i = 0; i < count; i++) {
            pid_t pid = ::fork();
            if (pid == 0) {
                for (;;)
                    asm volatile("" ::: "memory");  // a loop the compiler may not remove
            }
            if (pid > 0)
                pids_.push_back(pid);
        }
    }
    ~CpuHogs()
    {
        for (pid_t pid : pids_)
            ::kill(pid, SIGKILL);
        for (pid_t pid : pids_)
            ::waitpid(pid, nullptr, 0);
    }
    CpuHogs(const CpuHogs&) = delete;
    CpuHogs& operator=(const CpuHogs&) = delete;
    size_t running() const { return pids_.size(); }

private:
    std::vector<pid_t> pids_;
};

}  // namespace cr3rig::testing
