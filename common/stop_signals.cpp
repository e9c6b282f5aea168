#include "common/stop_signals.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace cr3rig {

namespace {

// Async-signal-safe state: the handler only stores and writes.
volatile sig_atomic_t g_signal = 0;
int g_pipe[2] = {-1, -1};

void note_signal(int signo)
{
    int saved = errno;
    if (g_signal == 0)
        g_signal = signo;
    char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &byte, 1);  // full pipe: a wake-up is pending anyway
    errno = saved;
}

void close_pipe()
{
    for (int& fd : g_pipe) {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
}

}  // namespace

StopSignals::StopSignals()
{
    g_signal = 0;
    if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::runtime_error("pipe failed");
    struct sigaction action {};
    action.sa_handler = note_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;  // waitpid() and writes go on; poll() returns EINTR regardless
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
}

StopSignals::~StopSignals()
{
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    close_pipe();
}

int StopSignals::fd() const { return g_pipe[0]; }

int StopSignals::signal() const { return g_signal; }

void StopSignals::reset_in_child()
{
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    close_pipe();
}

const char* signal_name(int signo)
{
    switch (signo) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
    }
}

}  // namespace cr3rig
