#include "vmm/devices/rtc.hpp"

#include <algorithm>
#include <ctime>

#include "cr3rig/abi.h"
#include "vmm/devices/io_elements.hpp"

namespace cr3rig {

namespace {

constexpr int64_t kNsPerS = 1'000'000'000;
constexpr int64_t kUipNs = 244'000;           // UIP rises this long before an update
constexpr int64_t kSecondsPerDay = 86'400;
constexpr uint8_t kUf = 0x10, kPf = 0x40;     // register C
constexpr uint8_t kUie = 0x10;                // register B
constexpr uint8_t kDividerNormal = 0x20;      // register A bits 4-6: 32.768 kHz, running
constexpr uint8_t kAlarmDontCare = 0xc0;
enum : uint8_t { kSeconds = 0, kSecondsAlarm = 1, kMinutes = 2, kMinutesAlarm = 3, kHours = 4, kHoursAlarm = 5,
                 kWeekday = 6, kDay = 7, kMonth = 8, kYear = 9, kCentury = 0x32 };

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::tm broken_down(int64_t second)
{
    std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm;
}

// The periodic interrupt's period for register A's rate bits (0 = off), at 32.768 kHz.
int64_t period_ns(uint8_t reg_a)
{
    unsigned rate = reg_a & 0x0f;
    if (rate == 0)
        return 0;
    unsigned ticks = rate <= 2 ? 1u << (rate + 6) : 1u << (rate - 1);
    return int64_t{ticks} * kNsPerS / 32768;
}

}  // namespace

uint8_t to_bcd(unsigned v) { return static_cast<uint8_t>(((v / 10) % 10) << 4 | (v % 10)); }
unsigned from_bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0x0f); }

Rtc::Rtc(const HostClock& clock, uint64_t memory_bytes, unsigned vcpus) : clock_(clock)
{
    auto& c = state_.cmos;
    c[kRegA] = kDividerNormal | 0x06;  // 1024 Hz periodic rate, as a BIOS leaves it
    c[kRegB] = k24h;                   // BCD, 24-hour
    c[kRegD] = 0x80;                   // VRT: the battery is fine
    // Memory sizes in the BIOS's places: 640 KiB base, KiB above 1 MiB (to 64 MiB),
    // 64 KiB units above 16 MiB; and the CPU count less one (QEMU's 0x5f).
    c[0x15] = 0x80, c[0x16] = 0x02;
    uint64_t ext_kib = std::min<uint64_t>(memory_bytes > (1u << 20) ? (memory_bytes - (1u << 20)) >> 10 : 0, 0xffff);
    c[0x17] = c[0x30] = static_cast<uint8_t>(ext_kib);
    c[0x18] = c[0x31] = static_cast<uint8_t>(ext_kib >> 8);
    uint64_t high = std::min<uint64_t>(memory_bytes > (16u << 20) ? (memory_bytes - (16u << 20)) >> 16 : 0, 0xffff);
    c[0x34] = static_cast<uint8_t>(high);
    c[0x35] = static_cast<uint8_t>(high >> 8);
    c[0x5f] = static_cast<uint8_t>(vcpus ? vcpus - 1 : 0);
    state_.flags_since_ns = now_ns();
}

Claims Rtc::claims() const { return {{{CR3RIG_RTC_PORT, CR3RIG_RTC_LEN}}, {}}; }

ExitAction Rtc::io(const IoAccess& access)
{
    for_each_io_byte(access, [&](uint16_t port, uint8_t& byte) {
        if (port == CR3RIG_RTC_PORT) {
            if (access.out) {
                state_.index = byte & 0x7f;
                state_.nmi_masked = (byte & 0x80) != 0;
            } else {
                byte = 0xff;  // the index register is write-only
            }
        } else if (access.out) {
            write(state_.index, byte);
        } else {
            byte = read(state_.index);
        }
    });
    return std::nullopt;
}

int64_t Rtc::now_ns() const { return clock_.realtime_ns() + state_.offset_s * kNsPerS; }

uint8_t Rtc::encode(unsigned v) const
{
    return (state_.cmos[kRegB] & kBinary) ? static_cast<uint8_t>(v) : to_bcd(v);
}

unsigned Rtc::decode(uint8_t v) const { return (state_.cmos[kRegB] & kBinary) ? v : from_bcd(v); }

uint8_t Rtc::encode_hour(unsigned h) const
{
    if (state_.cmos[kRegB] & k24h)
        return encode(h);
    unsigned h12 = h % 12 == 0 ? 12 : h % 12;
    return static_cast<uint8_t>(encode(h12) | (h >= 12 ? 0x80 : 0));
}

unsigned Rtc::decode_hour(uint8_t v) const
{
    if (state_.cmos[kRegB] & k24h)
        return decode(v);
    unsigned h12 = decode(v & 0x7f) % 12;
    return (v & 0x80) ? h12 + 12 : h12;
}

uint8_t Rtc::time_register(uint8_t reg, int64_t second) const
{
    std::tm t = broken_down(second);
    switch (reg) {
    case kSeconds: return encode(t.tm_sec);
    case kMinutes: return encode(t.tm_min);
    case kHours: return encode_hour(t.tm_hour);
    case kWeekday: return encode(t.tm_wday + 1);  // Sunday = 1
    case kDay: return encode(t.tm_mday);
    case kMonth: return encode(t.tm_mon + 1);
    case kYear: return encode((t.tm_year + 1900) % 100);
    default: return encode((t.tm_year + 1900) / 100);  // kCentury
    }
}

void Rtc::set_time_register(uint8_t reg, uint8_t value)
{
    int64_t now_s = floor_div(now_ns(), kNsPerS);
    std::tm t = broken_down(now_s);
    int year = t.tm_year + 1900;
    switch (reg) {
    case kSeconds: t.tm_sec = static_cast<int>(decode(value)); break;
    case kMinutes: t.tm_min = static_cast<int>(decode(value)); break;
    case kHours: t.tm_hour = static_cast<int>(decode_hour(value)); break;
    case kDay: t.tm_mday = static_cast<int>(decode(value)); break;
    case kMonth: t.tm_mon = static_cast<int>(decode(value)) - 1; break;
    case kYear: t.tm_year = year / 100 * 100 + static_cast<int>(decode(value)) - 1900; break;
    case kCentury: t.tm_year = static_cast<int>(decode(value)) * 100 + year % 100 - 1900; break;
    default: return;  // the weekday follows from the date
    }
    state_.offset_s += static_cast<int64_t>(timegm(&t)) - now_s;
}

bool Rtc::updating() const
{
    return (state_.cmos[kRegB] & kSet) == 0 && (state_.cmos[kRegA] & 0x70) == kDividerNormal;
}

bool Rtc::alarm_matches(int64_t second) const
{
    const auto& c = state_.cmos;
    auto field = [&](uint8_t alarm, uint8_t reg) {
        return (c[alarm] & kAlarmDontCare) == kAlarmDontCare || c[alarm] == time_register(reg, second);
    };
    return field(kSecondsAlarm, kSeconds) && field(kMinutesAlarm, kMinutes) && field(kHoursAlarm, kHours);
}

// Register C as the clock has set it between the last read and `now`.
uint8_t Rtc::flags_until(int64_t now) const
{
    uint8_t flags = state_.latched_c;
    int64_t from = floor_div(state_.flags_since_ns, kNsPerS), to = floor_div(now, kNsPerS);
    if (updating() && to > from) {
        flags |= kUf;
        for (int64_t s = from + 1; s <= std::min(to, from + kSecondsPerDay); s++)
            if (alarm_matches(s)) {
                flags |= kAf;
                break;
            }
    }
    if (int64_t p = period_ns(state_.cmos[kRegA]); p && floor_div(now, p) > floor_div(state_.flags_since_ns, p))
        flags |= kPf;
    if (flags & state_.cmos[kRegB] & 0x70)  // PIE, AIE, UIE
        flags |= kIrqf;
    return flags;
}

uint8_t Rtc::read(uint8_t reg)
{
    reg &= 0x7f;
    int64_t now = now_ns();
    switch (reg) {
    case kSeconds: case kMinutes: case kHours: case kWeekday: case kDay: case kMonth: case kYear: case kCentury:
        return time_register(reg, floor_div(now, kNsPerS));
    case kRegA: {
        bool uip = updating() && now - floor_div(now, kNsPerS) * kNsPerS >= kNsPerS - kUipNs;
        return static_cast<uint8_t>((state_.cmos[kRegA] & 0x7f) | (uip ? kUip : 0));
    }
    case kRegC: {
        uint8_t flags = flags_until(now);
        state_.flags_since_ns = now;
        state_.latched_c = 0;
        return flags;
    }
    default:
        return state_.cmos[reg];
    }
}

void Rtc::write(uint8_t reg, uint8_t value)
{
    reg &= 0x7f;
    switch (reg) {
    case kSeconds: case kMinutes: case kHours: case kWeekday: case kDay: case kMonth: case kYear: case kCentury:
        set_time_register(reg, value);
        return;
    case kRegA:
        state_.cmos[kRegA] = value & 0x7f;  // UIP is read-only
        return;
    case kRegB:
        state_.cmos[kRegB] = (value & kSet) ? static_cast<uint8_t>(value & ~kUie) : value;
        return;
    case kRegC:
    case kRegD:
        return;  // read-only
    default:
        state_.cmos[reg] = value;
    }
}

std::optional<int64_t> Rtc::ns_to_next_alarm() const
{
    if (!(state_.cmos[kRegB] & kAie) || !updating())
        return std::nullopt;
    int64_t now = now_ns(), second = floor_div(now, kNsPerS);
    for (int64_t s = second + 1; s <= second + kSecondsPerDay; s++)
        if (alarm_matches(s))
            return s * kNsPerS - now;
    return std::nullopt;
}

void Rtc::note_alarm()
{
    state_.latched_c |= kAf;
    if (state_.cmos[kRegB] & kAie)
        state_.latched_c |= kIrqf;
}

}  // namespace cr3rig
