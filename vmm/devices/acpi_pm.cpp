#include "vmm/devices/acpi_pm.hpp"

#include "cr3rig/abi.h"
#include "vmm/devices/io_elements.hpp"
#include "vmm/devices/rtc.hpp"

namespace cr3rig {

namespace {

constexpr int64_t kNsPerS = 1'000'000'000;
constexpr int64_t kPmTimerHz = 3'579'545;
constexpr unsigned kStatus = 0, kEnable = 2, kControl = 4, kTimer = 8;  // offsets in the block
static_assert(CR3RIG_ACPI_PM1A_EVT == CR3RIG_ACPI_PM_PORT + kStatus && CR3RIG_ACPI_PM1A_CNT == CR3RIG_ACPI_PM_PORT + kControl &&
              CR3RIG_ACPI_PM_TMR == CR3RIG_ACPI_PM_PORT + kTimer);

}  // namespace

uint32_t pm_timer_ticks(int64_t ns)
{
    // Split so that the product cannot overflow however long the host has been up.
    int64_t ticks = ns / kNsPerS * kPmTimerHz + ns % kNsPerS * kPmTimerHz / kNsPerS;
    return static_cast<uint32_t>(ticks) & 0xffffff;
}

AcpiPm::AcpiPm(const HostClock& clock, Platform& platform, Rtc& rtc) : clock_(clock), platform_(platform), rtc_(rtc) {}

Claims AcpiPm::claims() const { return {{{CR3RIG_ACPI_PM_PORT, CR3RIG_ACPI_PM_LEN}}, {}}; }

uint8_t AcpiPm::read_byte(unsigned offset) const
{
    auto byte_of = [](uint32_t v, unsigned i) { return static_cast<uint8_t>(v >> (8 * i)); };
    if (offset >= kTimer)
        return byte_of(pm_timer_ticks(clock_.monotonic_ns()), offset - kTimer);
    if (offset >= kControl + 2)
        return 0;  // the gap between control and timer
    if (offset >= kControl)
        return byte_of(state_.control & ~kSlpEn, offset - kControl);  // SLP_EN reads as 0
    return byte_of(offset >= kEnable ? state_.enable : state_.status, offset % 2);
}

void AcpiPm::write_byte(unsigned offset, uint8_t value)
{
    auto replaced = [](uint16_t v, unsigned i, uint8_t b) {
        return static_cast<uint16_t>((v & ~(0xffu << (8 * i))) | (unsigned{b} << (8 * i)));
    };
    if (offset < kEnable)
        state_.status &= static_cast<uint16_t>(~(unsigned{value} << (8 * offset)));  // write 1 to clear
    else if (offset < kControl)
        state_.enable = replaced(state_.enable, offset - kEnable, value);
    else if (offset < kControl + 2)
        state_.control = static_cast<uint16_t>(replaced(state_.control, offset - kControl, value) | kSciEn);
    // the timer is read-only
}

ExitAction AcpiPm::io(const IoAccess& access)
{
    bool control_written = false;
    for_each_io_byte(access, [&](uint16_t port, uint8_t& byte) {
        unsigned offset = port - CR3RIG_ACPI_PM_PORT;
        if (!access.out) {
            byte = read_byte(offset);
            return;
        }
        write_byte(offset, byte);
        control_written |= offset == kControl + 1;  // SLP_EN and SLP_TYP are in the high byte
    });
    if (control_written && (state_.control & kSlpEn)) {
        state_.control &= static_cast<uint16_t>(~kSlpEn);
        return sleep((state_.control >> kSlpTypShift) & 7);
    }
    return std::nullopt;
}

ExitAction AcpiPm::sleep(unsigned type)
{
    if (type == 0 || type == 2)  // QEMU's PIIX4: S5 and S4 power the machine off
        return Stop{VerdictKind::Fail,
                    "guest powered off (ACPI sleep type " + std::to_string(type) + ") without a debug-exit status",
                    std::nullopt};
    if (type != kSlpTypS3)
        return std::nullopt;  // sleep types the chipset does not implement do nothing
    SleepRequest request;
    if (state_.enable & kRtcEn) {
        if (auto in = rtc_.ns_to_next_alarm())
            request.wake_at = clock_.monotonic_ns() + *in;
    }
    request.wake_source = "RTC alarm";
    request.on_wake = [this] {
        state_.status |= kWakSts | kRtcSts;
        rtc_.note_alarm();
    };
    platform_.request_sleep(std::move(request));
    return std::nullopt;
}

}  // namespace cr3rig
