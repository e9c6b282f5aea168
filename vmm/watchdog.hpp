// Ends a run at its deadline whatever the guest does. A guest can block KVM_RUN
// forever (hlt with interrupts off is handled inside the kernel's irqchip), so the
// watchdog thread sets kvm_run.immediate_exit and signals the vCPU threads until it is
// destroyed (the run loops notice and leave). With several vCPUs, any one of them can
// end the run before the deadline (end_now) and the others are kicked out the same way.
#pragma once

#include <linux/kvm.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace cr3rig {

class Watchdog {
public:
    using Clock = std::chrono::steady_clock;

    // A vCPU's kvm_run and the thread that runs it.
    struct Target {
        kvm_run* run;
        pthread_t thread;
    };

    // Arms the watchdog for the calling thread (the vCPU thread). With a non-zero
    // `poke`, it also interrupts KVM_RUN that often before the deadline (EINTR, an
    // Interrupted exit), so that a halted vCPU comes back to the run loop.
    Watchdog(kvm_run& run, Clock::time_point deadline,
             std::chrono::microseconds poke = std::chrono::microseconds::zero());
    // For several vCPU threads. The threads must stay joinable (not joined) until the
    // watchdog is destroyed: it may signal them until then.
    Watchdog(std::vector<Target> targets, Clock::time_point deadline,
             std::chrono::microseconds poke = std::chrono::microseconds::zero());
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    ~Watchdog();

    // Kicks every target out of KVM_RUN from now on, deadline or not: one vCPU ended
    // the run for all. fired() stays false (the deadline has not passed).
    void end_now();

    // Moves the deadline to `later` (the boot timeout gives way to the run's own once
    // the guest has printed). False when it has already fired: too late.
    bool postpone(Clock::time_point later);

    bool fired() const { return fired_.load(); }
    Clock::time_point deadline() const { return deadline_.load(); }

private:
    void watch();

    void kick_all(bool immediate_exit);

    std::vector<Target> targets_;
    std::atomic<Clock::time_point> deadline_;  // read by the run loops at every exit
    std::chrono::microseconds poke_;
    std::atomic<bool> fired_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool ending_ = false;  // end_now() was called
    std::thread thread_;
};

}  // namespace cr3rig
