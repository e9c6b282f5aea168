// The ACPI PM registers the FADT points at (cr3rig/abi.h, CR3RIG_ACPI_PM_PORT): PM1a
// event (status, write 1 to clear; enable), PM1a control (SCI_EN always set; SLP_TYP
// with SLP_EN: 1 = S3 suspend-to-RAM, 0 and 2 = soft off, QEMU PIIX4's values) and the
// PM timer (24 bits at 3.579545 MHz from the host's monotonic clock). S3 asks the
// platform to sleep until the RTC alarm when RTC_EN is set (vmm/platform.hpp), and sets
// WAK_STS and RTC_STS on waking. No SCI is raised and TMR_STS never sets.
#pragma once

#include <cstdint>

#include "vmm/devices/device.hpp"
#include "vmm/platform.hpp"

namespace cr3rig {

class Rtc;

// The PM timer's value at a monotonic time, in ns.
uint32_t pm_timer_ticks(int64_t monotonic_ns);

class AcpiPm : public Device {
public:
    static constexpr uint16_t kTmrSts = 1u << 0, kRtcSts = 1u << 10, kWakSts = 1u << 15;  // PM1 status
    static constexpr uint16_t kRtcEn = 1u << 10;                                         // PM1 enable
    static constexpr uint16_t kSciEn = 1u << 0, kSlpEn = 1u << 13;                        // PM1 control
    static constexpr unsigned kSlpTypShift = 10;
    static constexpr uint16_t kSlpTypS3 = 1;  // what QEMU's PIIX4 takes for S3 (x86/s3.c)

    AcpiPm(const HostClock& clock, Platform& platform, Rtc& rtc);

    std::string_view name() const override { return "acpi-pm"; }
    Claims claims() const override;
    ExitAction io(const IoAccess& access) override;
    std::unique_ptr<DeviceState> save() const override { return save_copy(state_); }
    void restore(const DeviceState& s) override { state_ = saved_copy<State>(s); }

    uint16_t status() const { return state_.status; }
    uint16_t enable() const { return state_.enable; }

private:
    struct State {
        uint16_t status = 0;
        uint16_t enable = 0;
        uint16_t control = kSciEn;
    };
    uint8_t read_byte(unsigned offset) const;
    void write_byte(unsigned offset, uint8_t value);
    ExitAction sleep(unsigned type);

    const HostClock& clock_;
    Platform& platform_;
    Rtc& rtc_;
    State state_;
};

}  // namespace cr3rig
