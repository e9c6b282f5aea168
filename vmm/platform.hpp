// What a device may ask of the machine it sits in, without knowing KVM: set an
// interrupt line's level, or put the machine to sleep (ACPI S3) until a wake event.
// The machine implements it (vmm/machine_platform.hpp); unit tests use a fake.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace cr3rig {

// The host's clocks, in nanoseconds, behind an interface so that tests can give
// devices a clock they move by hand.
class HostClock {
public:
    virtual ~HostClock() = default;
    virtual int64_t monotonic_ns() const = 0;  // CLOCK_MONOTONIC: the PM timer, sleeps
    virtual int64_t realtime_ns() const = 0;   // CLOCK_REALTIME, UTC: the RTC's date and time
};

// The clocks of the host (clock_gettime).
const HostClock& host_clock();

// A request to enter a sleep state (S3): the machine stops running the guest until
// `wake_at` (monotonic ns), or for good when nullopt (nothing armed to wake it: the run
// ends at its deadline). On waking, the machine calls `on_wake` (the devices set their
// wake status), then resets vCPU 0 into real mode at the FACS waking vector, memory kept.
struct SleepRequest {
    std::optional<int64_t> wake_at;
    std::string_view wake_source;  // "RTC alarm", for the verdict's reason
    std::function<void()> on_wake;
};

class Platform {
public:
    virtual ~Platform() = default;
    // An ISA/IOAPIC interrupt line (GSI 0-23) at `level`.
    virtual void set_irq_line(unsigned irq, bool level) = 0;
    // Takes effect when the current exit has been dispatched: the vCPU does not run
    // another instruction first.
    virtual void request_sleep(SleepRequest request) = 0;
};

}  // namespace cr3rig
