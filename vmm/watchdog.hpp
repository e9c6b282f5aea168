// Ends a run at its deadline whatever the guest does. A guest can block KVM_RUN
// forever (hlt with interrupts off is handled inside the kernel's irqchip), so the
// watchdog thread sets kvm_run.immediate_exit and signals the vCPU thread until
// KVM_RUN returns EINTR.
#pragma once

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace cr3rig {

class Watchdog {
public:
    using Clock = std::chrono::steady_clock;

    // Arms the watchdog for the calling thread (the vCPU thread). With a non-zero
    // `poke`, it also interrupts KVM_RUN that often before the deadline (EINTR, an
    // Interrupted exit), so that a halted vCPU comes back to the run loop.
    Watchdog(kvm_run& run, Clock::time_point deadline,
             std::chrono::microseconds poke = std::chrono::microseconds::zero());
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    ~Watchdog();

    bool fired() const { return fired_.load(); }
    Clock::time_point deadline() const { return deadline_; }

private:
    void watch();

    kvm_run& run_;
    Clock::time_point deadline_;
    std::chrono::microseconds poke_;
    pthread_t vcpu_thread_;
    std::atomic<bool> fired_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cr3rig
