// The MC146818 CMOS RTC at ports 0x70 (index; bit 7 masks NMIs) and 0x71 (data), as a
// PC's: the time and date of the host's clock (UTC) plus an offset the guest sets by
// writing them, in BCD or binary and 24- or 12-hour form as register B says; register
// A's UIP for the 244 us before each second boundary; the alarm (seconds, minutes,
// hours, 0xc0-0xff = "don't care"); register C's flags (UF, AF, PF and IRQF, computed
// from the clock, cleared by reading); register D's VRT; and the CMOS bytes a PC BIOS
// sets (memory sizes, century, CPU count). It raises no interrupt (IRQ 8 is not
// wired); the alarm wakes the machine from S3 through the ACPI PM device.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "vmm/devices/device.hpp"
#include "vmm/platform.hpp"

namespace cr3rig {

uint8_t to_bcd(unsigned v);
unsigned from_bcd(uint8_t v);

class Rtc : public Device {
public:
    static constexpr uint8_t kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c, kRegD = 0x0d;
    static constexpr uint8_t kUip = 0x80;                                    // register A
    static constexpr uint8_t kSet = 0x80, kAie = 0x20, kBinary = 0x04, k24h = 0x02;  // register B
    static constexpr uint8_t kIrqf = 0x80, kAf = 0x20;                        // register C

    Rtc(const HostClock& clock, uint64_t memory_bytes, unsigned vcpus);

    std::string_view name() const override { return "rtc"; }
    Claims claims() const override;
    ExitAction io(const IoAccess& access) override;
    std::unique_ptr<DeviceState> save() const override { return save_copy(state_); }
    void restore(const DeviceState& s) override { state_ = saved_copy<State>(s); }

    uint8_t read(uint8_t reg);
    void write(uint8_t reg, uint8_t value);
    bool nmi_masked() const { return state_.nmi_masked; }

    // With AIE set: how long from now until the alarm next matches (at a second
    // boundary), nullopt if AIE is clear or no second in the next day matches.
    std::optional<int64_t> ns_to_next_alarm() const;
    // The alarm went off while nobody polled (the machine slept through it): AF and IRQF.
    void note_alarm();

private:
    struct State {
        std::array<uint8_t, 128> cmos{};
        uint8_t index = 0;
        bool nmi_masked = false;
        int64_t offset_s = 0;         // guest time - host time, in seconds
        int64_t flags_since_ns = 0;   // register C last read (guest realtime)
        uint8_t latched_c = 0;        // flags set by events outside the clock's reckoning
    };

    int64_t now_ns() const;  // guest realtime
    uint8_t encode(unsigned v) const;
    unsigned decode(uint8_t v) const;
    uint8_t encode_hour(unsigned h) const;
    unsigned decode_hour(uint8_t v) const;
    uint8_t time_register(uint8_t reg, int64_t second) const;
    void set_time_register(uint8_t reg, uint8_t value);
    bool alarm_matches(int64_t second) const;
    uint8_t flags_until(int64_t now) const;
    bool updating() const;

    const HostClock& clock_;
    State state_;
};

}  // namespace cr3rig
