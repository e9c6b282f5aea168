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
    : run_(run), deadline_(deadline), poke_(poke), vcpu_thread_(pthread_self())
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
    __atomic_store_n(&run_.immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void Watchdog::watch()
{
    std::unique_lock lock(mutex_);
    for (auto next = Clock::now() + poke_; poke_.count() > 0 && next < deadline_; next += poke_) {
        if (cv_.wait_until(lock, next, [this] { return stopping_; }))
            return;
        pthread_kill(vcpu_thread_, kKickSignal);
    }
    if (cv_.wait_until(lock, deadline_, [this] { return stopping_; }))
        return;
    fired_ = true;
    // Keep kicking until the run loop notices: a signal that lands just before KVM_RUN
    // is caught by immediate_exit, one that lands in user space is simply repeated.
    while (!stopping_) {
        __atomic_store_n(&run_.immediate_exit, 1, __ATOMIC_SEQ_CST);
        pthread_kill(vcpu_thread_, kKickSignal);
        cv_.wait_for(lock, kKickInterval, [this] { return stopping_; });
    }
}

}  // namespace cr3rig
