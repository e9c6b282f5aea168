// The machine's side of vmm/platform.hpp: interrupt lines through KVM_IRQ_LINE to the
// in-kernel PIC and IOAPIC, and ACPI S3 as QEMU and its firmware do it: after the exit
// that asked for it, the vCPU stops; the machine waits (host time) for the wake event,
// then resets vCPU 0 into real mode at the FACS firmware waking vector (CS = vector >>
// 4, IP = vector & 0xf), memory kept. Without a wake event, or with one after the
// deadline, the run ends at the deadline as a Timeout saying so.
#pragma once

#include <chrono>
#include <optional>

#include "vmm/dispatch.hpp"
#include "vmm/platform.hpp"

namespace cr3rig {

class GuestMemory;
class Vcpu;
class Vm;

class MachinePlatform : public Platform {
public:
    MachinePlatform(Vm& vm, GuestMemory& memory) : vm_(vm), memory_(memory) {}

    void set_irq_line(unsigned irq, bool level) override;
    void request_sleep(SleepRequest request) override { pending_ = std::move(request); }

    // Called after each dispatched exit: carries out a sleep the exit asked for.
    ExitAction after_exit(Vcpu& boot_vcpu, std::chrono::steady_clock::time_point deadline);
    uint64_t wakeups() const { return wakeups_; }
    bool sleep_requested() const { return pending_.has_value(); }

private:
    Vm& vm_;
    GuestMemory& memory_;
    std::optional<SleepRequest> pending_;
    uint64_t wakeups_ = 0;
};

// Puts a vCPU in real mode at segment:offset, as the firmware leaves it for the OS
// waking vector: flat 64 KiB segments, paging and protection off, interrupts off.
void enter_real_mode(Vcpu& vcpu, uint16_t segment, uint16_t offset);

}  // namespace cr3rig
