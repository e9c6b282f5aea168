#include "suite/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cr3rig::suite {

namespace {

// What the handler may touch: async-signal-safe state only.
volatile sig_atomic_t g_signal = 0;
int g_write_fd = -1;
struct sigaction g_old_int, g_old_term;

extern "C" void on_signal(int sig)
{
    int saved = errno;
    g_signal = sig;
    char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(g_write_fd, &byte, 1);  // full pipe: a wake-up is pending anyway
    errno = saved;
}

}  // namespace

InterruptWatch::InterruptWatch()
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    read_fd_ = fds[0];
    g_write_fd = fds[1];
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;  // waitpid() and writes go on; poll() returns EINTR regardless
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &g_old_int);
    ::sigaction(SIGTERM, &sa, &g_old_term);
}

InterruptWatch::~InterruptWatch()
{
    ::sigaction(SIGINT, &g_old_int, nullptr);
    ::sigaction(SIGTERM, &g_old_term, nullptr);
    ::close(read_fd_);
    ::close(g_write_fd);
    g_write_fd = -1;
}

int InterruptWatch::signal() const
{
    return g_signal;
}

}  // namespace cr3rig::suite
