#include "vmm/machine_platform.hpp"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "common/errors.hpp"
#include "vmm/acpi_tables.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/kvm.hpp"

namespace cr3rig {

namespace {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, as HostClock::monotonic_ns

class SystemClock : public HostClock {
public:
    int64_t monotonic_ns() const override { return read(CLOCK_MONOTONIC); }
    int64_t realtime_ns() const override { return read(CLOCK_REALTIME); }

private:
    static int64_t read(clockid_t id)
    {
        timespec ts{};
        ::clock_gettime(id, &ts);
        return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
    }
};

kvm_segment real_mode_segment(uint16_t selector, uint8_t type)
{
    kvm_segment s{};
    s.selector = selector;
    s.base = uint64_t{selector} << 4;
    s.limit = 0xffff;
    s.type = type;
    s.present = 1;
    s.s = 1;
    return s;
}

std::string seconds(int64_t ns) { return std::to_string(ns / 1'000'000) + " ms"; }

}  // namespace

const HostClock& host_clock()
{
    static const SystemClock clock;
    return clock;
}

void MachinePlatform::set_irq_line(unsigned irq, bool level)
{
    kvm_irq_level line{};
    line.irq = irq;
    line.level = level ? 1 : 0;
    if (::ioctl(vm_.fd(), KVM_IRQ_LINE, &line) < 0)
        throw KvmError("KVM_IRQ_LINE", errno);
}

void enter_real_mode(Vcpu& vcpu, uint16_t segment, uint16_t offset)
{
    kvm_sregs s = vcpu.get_sregs();
    s.cs = real_mode_segment(segment, 0xb);  // execute/read, accessed
    s.ds = s.es = s.fs = s.gs = s.ss = real_mode_segment(0, 0x3);
    s.tr = real_mode_segment(0, 0xb);
    s.tr.s = 0;  // a busy TSS, as after reset
    s.ldt = real_mode_segment(0, 0x2);
    s.ldt.s = 0;
    s.gdt = {0, 0xffff, {}};
    s.idt = {0, 0x3ff, {}};  // the real-mode interrupt vector table
    s.cr0 = 0x60000010;      // CD, NW, ET: the reset value
    s.cr2 = s.cr3 = s.cr4 = 0;
    s.efer = 0;
    std::memset(s.interrupt_bitmap, 0, sizeof s.interrupt_bitmap);
    vcpu.run_state().kvm_dirty_regs = 0;  // synced registers must not be written back over these
    vcpu.set_sregs(s);
    kvm_regs r{};
    r.rip = offset;
    r.rflags = 0x2;
    vcpu.set_regs(r);
    vcpu.set_mp_state(KVM_MP_STATE_RUNNABLE);
}

ExitAction MachinePlatform::after_exit(Vcpu& boot_vcpu, Clock::time_point deadline)
{
    if (!pending_)
        return std::nullopt;
    SleepRequest request = std::move(*pending_);
    pending_.reset();
    if (!request.wake_at) {
        std::this_thread::sleep_until(deadline);
        return Stop{VerdictKind::Timeout,
                    "deadline reached while the guest slept in ACPI S3 with no wake source armed (" +
                        std::string(request.wake_source) + " needs RTC_EN in PM1 enable and AIE in RTC register B)",
                    std::nullopt};
    }
    Clock::time_point wake{std::chrono::nanoseconds(*request.wake_at)};
    if (wake > deadline) {
        std::this_thread::sleep_until(deadline);
        return Stop{VerdictKind::Timeout,
                    "deadline reached while the guest slept in ACPI S3 (its " + std::string(request.wake_source) +
                        " was due " + seconds((wake - deadline).count()) + " after the deadline)",
                    std::nullopt};
    }
    std::this_thread::sleep_until(wake);
    if (request.on_wake)
        request.on_wake();
    uint32_t vector = memory_.read<uint32_t>(AcpiLayout::kFacs + AcpiLayout::kFacsWakingVector);
    enter_real_mode(boot_vcpu, static_cast<uint16_t>(vector >> 4), static_cast<uint16_t>(vector & 0xf));
    wakeups_++;
    return std::nullopt;
}

}  // namespace cr3rig
