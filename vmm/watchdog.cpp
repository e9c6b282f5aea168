#include "vmm/watchdog.hpp"

#include <signal.h>

#include <cstring>

namespace cr3rig {

namespace {

// The kick signal. Its handler does nothing: the point is that KVM_RUN returns EINTR,
// which needs a handler installed without SA_RESTART.
constexpr int kKickSignal = SIGUSR1;

void install_kick_handler()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_handler = [](int) {};
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        sigaction(kKickSignal, &sa, nullptr);
    });
}

constexpr auto kKickInterval = std::chrono::milliseconds(20);

}  // namespace

Watchdog::Watchdog(kvm_run& run, Clock::time_point deadline, std::chrono::microseconds poke)
    : Watchdog(std::vector<Target>{{&run, pthread_self()}}, deadline, poke)
{
}

Watchdog::Watchdog(std::vector<Target> targets, Clock::time_point deadline, std::chrono::microseconds poke)
    : targets_(std::move(targets)), deadline_(deadline), poke_(poke)
{
    install_kick_handler();
    thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // A kick may have landed after the run loop ended; do not let it end the next KVM_RUN.
    for (const Target& t : targets_)
        __atomic_store_n(&t.run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void Watchdog::end_now()
{
    {
        std::lock_guard lock(mutex_);
        ending_ = true;
    }
    cv_.notify_all();
}

bool Watchdog::postpone(Clock::time_point later)
{
    std::lock_guard lock(mutex_);
    if (fired_ || ending_)
        return false;
    deadline_ = later;
    return true;
}

// Called with mutex_ held, so that the destructor cannot return (and the caller join a
// thread) while a signal is on its way to it.
void Watchdog::kick_all(bool immediate_exit)
{
    for (const Target& t : targets_) {
        if (immediate_exit)
            __atomic_store_n(&t.run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        pthread_kill(t.thread, kKickSignal);
    }
}

void Watchdog::watch()
{
    std::unique_lock lock(mutex_);
    auto woken = [this] { return stopping_ || ending_; };
    // The deadline is read again after every wait: postpone() may have moved it.
    for (auto next = Clock::now() + poke_; poke_.count() > 0 && next < deadline_.load() && !ending_; next += poke_) {
        if (cv_.wait_until(lock, next, woken))
            break;
        kick_all(false);
    }
    while (!woken() && Clock::now() < deadline_.load())
        cv_.wait_until(lock, deadline_.load(), woken);
    if (stopping_)
        return;
    fired_ = !ending_;  // the deadline, or else a vCPU that ended the run for all
    // Keep kicking until the run loop notices: a signal that lands just before KVM_RUN
    // is caught by immediate_exit, one that lands in user space is simply repeated.
    while (!stopping_) {
        kick_all(true);
        cv_.wait_for(lock, kKickInterval, [this] { return stopping_; });
    }
}

}  // namespace cr3rig
