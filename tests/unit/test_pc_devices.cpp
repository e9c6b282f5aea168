// The PC devices kvm-unit-tests expects, without KVM: the ACPI tables as lib/acpi.c
// walks them, the RTC's registers (BCD, UIP, alarm), the PM timer's rate and S3 on a
// fake clock and platform, pc-testdev's ports, lines and MMIO, the bus's MMIO claims
// and the record of unclaimed accesses.
#include <catch2/catch.hpp>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "cr3rig/abi.h"
#include "vmm/acpi_tables.hpp"
#include "vmm/devices/acpi_pm.hpp"
#include "vmm/devices/pc_testdev.hpp"
#include "vmm/devices/rtc.hpp"
#include "vmm/dispatch.hpp"
#include "vmm/guest_memory.hpp"

using namespace cr3rig;

namespace {

constexpr int64_t kS = 1'000'000'000;
// 2024-02-29 23:59:58 UTC
constexpr int64_t kLeapDay = 1709251198;

struct FakeClock : HostClock {
    int64_t mono = 0, real = kLeapDay * kS;
    int64_t monotonic_ns() const override { return mono; }
    int64_t realtime_ns() const override { return real; }
    void advance(int64_t ns) { mono += ns, real += ns; }
};

struct FakePlatform : Platform {
    std::vector<std::pair<unsigned, bool>> lines;
    std::optional<SleepRequest> sleep;
    void set_irq_line(unsigned irq, bool level) override { lines.emplace_back(irq, level); }
    void request_sleep(SleepRequest r) override { sleep = std::move(r); }
};

// A port access with its own data bytes.
struct Io {
    std::vector<uint8_t> bytes;
    IoAccess access;
    Io(uint16_t port, bool out, uint8_t size, uint32_t value = 0) : bytes(4)
    {
        std::memcpy(bytes.data(), &value, 4);
        access = {port, size, 1, out, {bytes.data(), size}};
    }
};

uint32_t in(Device& d, uint16_t port, uint8_t size)
{
    Io io(port, false, size, 0xdeadbeef);
    REQUIRE_FALSE(d.io(io.access).has_value());
    uint32_t v = 0;
    std::memcpy(&v, io.bytes.data(), size);
    return v;
}

ExitAction out(Device& d, uint16_t port, uint8_t size, uint32_t value)
{
    Io io(port, true, size, value);
    return d.io(io.access);
}

// lib/acpi.c's walk, over the tables' bytes as the guest sees them.
struct AcpiView {
    std::vector<uint8_t> area = build_acpi_tables(3);
    const uint8_t* at(uint64_t gpa) const
    {
        REQUIRE(gpa >= CR3RIG_ACPI_TABLES_GPA);
        REQUIRE(gpa < CR3RIG_ACPI_TABLES_END);
        return area.data() + (gpa - CR3RIG_ACPI_TABLES_GPA);
    }
    template <typename T>
    T get(uint64_t gpa) const
    {
        T v;
        std::memcpy(&v, at(gpa), sizeof v);
        return v;
    }
    uint8_t sum(uint64_t gpa, size_t len) const { return std::accumulate(at(gpa), at(gpa) + len, uint8_t{0}); }
    std::string sig(uint64_t gpa, size_t len = 4) const { return std::string(reinterpret_cast<const char*>(at(gpa)), len); }
    uint64_t rsdp() const
    {
        for (uint64_t a = CR3RIG_ACPI_TABLES_GPA; a < CR3RIG_ACPI_TABLES_END; a += 16)
            if (sig(a, 8) == "RSD PTR ")
                return a;
        FAIL("no RSDP on a 16-byte boundary");
        return 0;
    }
    // The table with this signature through the XSDT (revision >= 2), else 0.
    uint64_t find(const std::string& s) const
    {
        uint64_t xsdt = get<uint64_t>(rsdp() + 24);
        REQUIRE(sig(xsdt) == "XSDT");
        for (uint64_t e = xsdt + 36; e < xsdt + get<uint32_t>(xsdt + 4); e += 8)
            if (sig(get<uint64_t>(e)) == s)
                return get<uint64_t>(e);
        return 0;
    }
};

}  // namespace

TEST_CASE("ACPI tables: lib/acpi.c finds the RSDP, FADT, FACS and MADT, every checksum holds")
{
    AcpiView v;
    uint64_t rsdp = v.rsdp();
    CHECK(v.get<uint8_t>(rsdp + 15) == 2);
    CHECK(v.sum(rsdp, 20) == 0);
    CHECK(v.sum(rsdp, 36) == 0);
    uint64_t rsdt = v.get<uint32_t>(rsdp + 16);
    CHECK(v.sig(rsdt) == "RSDT");
    uint64_t fadt = v.find("FACP"), madt = v.find("APIC");
    REQUIRE(fadt);
    REQUIRE(madt);
    CHECK(v.get<uint32_t>(rsdt + 36) == fadt);  // the RSDT lists the same tables
    for (uint64_t t : {rsdt, v.get<uint64_t>(rsdp + 24), fadt, madt, uint64_t{v.get<uint32_t>(fadt + 40)}})
        CHECK(v.sum(t, v.get<uint32_t>(t + 4)) == 0);
    CHECK(v.get<uint32_t>(fadt + 4) == 244);
    CHECK(v.get<uint8_t>(fadt + 8) == 3);
    // What s3.c and vmexit.c read.
    CHECK(v.get<uint32_t>(fadt + 56) == CR3RIG_ACPI_PM1A_EVT);
    CHECK(v.get<uint32_t>(fadt + 64) == CR3RIG_ACPI_PM1A_CNT);
    CHECK(v.get<uint32_t>(fadt + 76) == CR3RIG_ACPI_PM_TMR);
    CHECK(v.get<uint16_t>(fadt + 46) == CR3RIG_ACPI_SCI_IRQ);
    uint64_t facs = v.get<uint32_t>(fadt + 36);
    CHECK(facs % 64 == 0);
    CHECK(v.sig(facs) == "FACS");
    CHECK(facs + AcpiLayout::kFacsWakingVector == 0xe00cc);
    CHECK(v.get<uint64_t>(fadt + 132) == facs);
    CHECK(v.sig(v.get<uint32_t>(fadt + 40)) == "DSDT");

    // The MADT: one enabled local APIC per vCPU, the IOAPIC, IRQ 0 -> GSI 2.
    CHECK(v.get<uint32_t>(madt + 36) == 0xfee00000u);
    std::vector<unsigned> apic_ids;
    bool ioapic = false, irq0_to_gsi2 = false;
    for (uint64_t e = madt + 44; e < madt + v.get<uint32_t>(madt + 4); e += v.get<uint8_t>(e + 1)) {
        REQUIRE(v.get<uint8_t>(e + 1) >= 2);
        switch (v.get<uint8_t>(e)) {
        case 0: CHECK(v.get<uint32_t>(e + 4) == 1u); apic_ids.push_back(v.get<uint8_t>(e + 3)); break;
        case 1: ioapic = v.get<uint32_t>(e + 4) == 0xfec00000u && v.get<uint32_t>(e + 8) == 0; break;
        case 2: irq0_to_gsi2 |= v.get<uint8_t>(e + 3) == 0 && v.get<uint32_t>(e + 4) == 2; break;
        }
    }
    CHECK(apic_ids == std::vector<unsigned>{0, 1, 2});
    CHECK(ioapic);
    CHECK(irq0_to_gsi2);

    CHECK_THROWS(build_acpi_tables(0));
    CHECK_THROWS(build_acpi_tables(kAcpiMaxVcpus + 1));
    CHECK(build_acpi_tables(kAcpiMaxVcpus).size() == CR3RIG_ACPI_TABLES_END - CR3RIG_ACPI_TABLES_GPA);
}

TEST_CASE("RTC: date and time in BCD or binary, 24 or 12 hours, written time kept as an offset")
{
    CHECK(to_bcd(59) == 0x59);
    CHECK(from_bcd(0x47) == 47);
    FakeClock clock;
    Rtc rtc(clock, 128u << 20, 2);
    CHECK(rtc.read(0) == 0x58);
    CHECK(rtc.read(2) == 0x59);
    CHECK(rtc.read(4) == 0x23);
    CHECK(rtc.read(7) == 0x29);
    CHECK(rtc.read(8) == 0x02);
    CHECK(rtc.read(9) == 0x24);
    CHECK(rtc.read(0x32) == 0x20);
    CHECK(rtc.read(6) == 5);  // Thursday, Sunday = 1
    clock.advance(2 * kS);    // into March 1st
    CHECK(rtc.read(7) == 0x01);
    CHECK(rtc.read(8) == 0x03);
    CHECK(rtc.read(4) == 0x00);

    rtc.write(Rtc::kRegB, Rtc::k24h | Rtc::kBinary);
    CHECK(rtc.read(9) == 24);
    rtc.write(Rtc::kRegB, 0);  // BCD, 12-hour: 00:00 is 12 AM
    CHECK(rtc.read(4) == 0x12);
    rtc.write(4, 0x80 | 0x03);  // 3 PM
    rtc.write(Rtc::kRegB, Rtc::k24h);
    CHECK(rtc.read(4) == 0x15);
    clock.advance(3600 * kS);
    CHECK(rtc.read(4) == 0x16);  // the written time runs on

    // The CMOS bytes a BIOS sets; the index port's bit 7 masks NMIs.
    CHECK(rtc.read(0x15) == 0x80);
    CHECK((rtc.read(0x34) | rtc.read(0x35) << 8) == (128 - 16) * 16);
    CHECK(rtc.read(0x5f) == 1);
    CHECK(rtc.read(Rtc::kRegD) == 0x80);
    rtc.write(0x40, 0x5a);
    CHECK(out(rtc, CR3RIG_RTC_PORT, 1, 0x80 | 0x40) == std::nullopt);
    CHECK(rtc.nmi_masked());
    CHECK(in(rtc, CR3RIG_RTC_PORT + 1, 1) == 0x5a);
}

TEST_CASE("RTC: UIP in the 244 us before each second boundary, the alarm sets AF, reading C clears it")
{
    FakeClock clock;
    clock.real = kLeapDay * kS + 500'000'000;
    Rtc rtc(clock, 64u << 20, 1);
    CHECK((rtc.read(Rtc::kRegA) & Rtc::kUip) == 0);
    clock.advance(500'000'000 - 244'000);
    CHECK(rtc.read(Rtc::kRegA) & Rtc::kUip);
    clock.advance(243'999);
    CHECK(rtc.read(Rtc::kRegA) & Rtc::kUip);
    clock.advance(1);  // the boundary: the update is done
    CHECK((rtc.read(Rtc::kRegA) & Rtc::kUip) == 0);

    rtc.write(Rtc::kRegA, 0x20);  // no periodic flag in the way
    rtc.read(Rtc::kRegC);
    CHECK(rtc.ns_to_next_alarm() == std::nullopt);  // AIE clear
    for (uint8_t reg : {1, 3, 5})
        rtc.write(reg, 0xc0);  // don't care: every second
    rtc.write(Rtc::kRegB, rtc.read(Rtc::kRegB) | Rtc::kAie);
    clock.advance(300'000'000);
    CHECK(rtc.ns_to_next_alarm() == 700'000'000);
    CHECK(rtc.read(Rtc::kRegC) == 0);
    clock.advance(700'000'000);
    CHECK(rtc.read(Rtc::kRegC) == (Rtc::kIrqf | Rtc::kAf | 0x10));
    CHECK(rtc.read(Rtc::kRegC) == 0);
    rtc.write(1, to_bcd(30));  // a seconds alarm: at hh:mm:30
    uint8_t now_s = static_cast<uint8_t>(from_bcd(rtc.read(0)));
    CHECK(rtc.ns_to_next_alarm() == int64_t{(30 - now_s + 60) % 60 == 0 ? 60 : (30 - now_s + 60) % 60} * kS);
}

TEST_CASE("PM timer: 3.579545 MHz, 24 bits, from the host's monotonic clock")
{
    CHECK(pm_timer_ticks(0) == 0);
    CHECK(pm_timer_ticks(kS) == 3'579'545);
    CHECK(pm_timer_ticks(5 * kS) == (5 * 3'579'545) % (1 << 24));
    constexpr int64_t kCentury = int64_t{100} * 365 * 86400;  // seconds: ns * Hz would overflow
    CHECK(pm_timer_ticks(kCentury * kS) == ((uint64_t{kCentury} * 3'579'545) & 0xffffff));
    FakeClock clock;
    FakePlatform platform;
    Rtc rtc(clock, 64u << 20, 1);
    AcpiPm pm(clock, platform, rtc);
    uint32_t t0 = in(pm, CR3RIG_ACPI_PM_TMR, 4);
    clock.advance(kS / 1000);
    CHECK(((in(pm, CR3RIG_ACPI_PM_TMR, 4) - t0) & 0xffffff) == 3579);
}

TEST_CASE("PM1: status is write-1-to-clear, S3 asks the platform to sleep until the RTC alarm")
{
    FakeClock clock;
    clock.real = kLeapDay * kS + 250'000'000;
    FakePlatform platform;
    Rtc rtc(clock, 64u << 20, 1);
    AcpiPm pm(clock, platform, rtc);
    CHECK(in(pm, CR3RIG_ACPI_PM1A_CNT, 2) == AcpiPm::kSciEn);

    SECTION("no wake source armed: a sleep that never ends")
    {
        CHECK(out(pm, CR3RIG_ACPI_PM1A_CNT, 2, 0x2400) == std::nullopt);
        REQUIRE(platform.sleep);
        CHECK(platform.sleep->wake_at == std::nullopt);
    }
    SECTION("RTC_EN and the alarm: wake at the next second, WAK_STS and RTC_STS set")
    {
        out(pm, CR3RIG_ACPI_PM1A_EVT + 2, 2, AcpiPm::kRtcEn);  // s3.c: outw(0x400, pm1a_evt_blk + 2)
        for (uint8_t reg : {1, 3, 5})
            rtc.write(reg, 0xc0);
        rtc.write(Rtc::kRegB, rtc.read(Rtc::kRegB) | Rtc::kAie);
        CHECK(out(pm, CR3RIG_ACPI_PM1A_CNT, 2, 0x2400) == std::nullopt);
        REQUIRE(platform.sleep);
        CHECK(platform.sleep->wake_at == clock.mono + 750'000'000);
        platform.sleep->on_wake();
        uint16_t sts = static_cast<uint16_t>(in(pm, CR3RIG_ACPI_PM1A_EVT, 2));
        CHECK(sts == (AcpiPm::kWakSts | AcpiPm::kRtcSts));
        CHECK((in(pm, CR3RIG_ACPI_PM1A_CNT, 2) & AcpiPm::kSlpEn) == 0);
        out(pm, CR3RIG_ACPI_PM1A_EVT, 2, AcpiPm::kWakSts);  // write 1 to clear
        CHECK(in(pm, CR3RIG_ACPI_PM1A_EVT, 2) == AcpiPm::kRtcSts);
        CHECK(in(pm, CR3RIG_ACPI_PM1A_EVT + 2, 2) == AcpiPm::kRtcEn);
    }
    SECTION("S5 (sleep type 0) powers off: the run ends without a pass")
    {
        auto stop = out(pm, CR3RIG_ACPI_PM1A_CNT, 2, 0x2000);
        REQUIRE(stop);
        CHECK(stop->kind == VerdictKind::Fail);
        CHECK_THAT(stop->reason, Catch::Contains("powered off"));
    }
}

TEST_CASE("pc-testdev: the data port reads back at any size, IRQ lines go to the platform, iomem is memory")
{
    GuestMemory memory(2u << 20);
    FakePlatform platform;
    PcTestdev dev(memory, platform);
    PortBus bus;
    bus.attach(dev);

    out(dev, 0xe0, 4, 0x12345678);
    CHECK(in(dev, 0xe0, 4) == 0x12345678u);
    out(dev, 0xe0, 1, 0xab);
    CHECK(in(dev, 0xe0, 2) == 0x56abu);
    out(dev, 0xe2, 2, 0xcdef);
    CHECK(in(dev, 0xe0, 4) == 0xcdef56abu);
    CHECK(in(dev, 0xe8, 4) == 0xcdef56abu);  // the byte-wise window onto the same register

    memory.write<uint32_t>(0x3000, 0xfeedface);
    out(dev, 0xe4, 4, 0x3004);  // flush the page: its contents stay
    CHECK(dev.pages_flushed() == 1);
    CHECK(memory.read<uint32_t>(0x3000) == 0xfeedface);
    out(dev, 0xe4, 4, 0xfffff000);  // outside guest memory: nothing to flush
    CHECK(dev.pages_flushed() == 1);

    out(dev, 0x200e, 1, 1);
    out(dev, 0x200b, 4, 1);  // realmode.c: outl to 0x200b = lines 11..14, bytes 1, 0, 0, 0
    CHECK(platform.lines == std::vector<std::pair<unsigned, bool>>{{14, true}, {11, true}, {12, false}, {13, false}, {14, false}});

    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    VmExit write;
    write.kind = ExitKind::Mmio;
    write.mmio = {CR3RIG_TESTDEV_MMIO + 0x100, true, {data, 8}};
    CHECK_FALSE(dispatch(write, bus, false).has_value());
    uint8_t back[4] = {};
    VmExit read = write;
    read.mmio = {CR3RIG_TESTDEV_MMIO + 0x102, false, {back, 4}};
    CHECK_FALSE(dispatch(read, bus, false).has_value());
    CHECK(std::vector<uint8_t>(back, back + 4) == std::vector<uint8_t>{3, 4, 5, 6});
    read.mmio = {CR3RIG_TESTDEV_MMIO + 0xfffe, false, {back, 4}};  // runs off the end
    dispatch(read, bus, false);
    CHECK(std::vector<uint8_t>(back, back + 4) == std::vector<uint8_t>{0, 0, 0xff, 0xff});
    CHECK(bus.unclaimed().total() == 0);

    auto saved = dev.save();
    out(dev, 0xe0, 4, 0);
    dev.restore(*saved);
    CHECK(in(dev, 0xe0, 4) == 0xcdef56abu);
}

namespace {
struct MmioOnly : Device {
    uint64_t base, len;
    MmioOnly(uint64_t b, uint64_t l) : base(b), len(l) {}
    std::string_view name() const override { return "mmio-only"; }
    Claims claims() const override { return {{}, {{base, len}}}; }
    ExitAction io(const IoAccess&) override { return std::nullopt; }
};
}  // namespace

TEST_CASE("MMIO claims: routed by address, overlaps refused naming both devices")
{
    PortBus bus;
    MmioOnly a(0xd0000000, 0x1000), b(0xd0000800, 0x1000), empty(0xd0010000, 0), wrap(~uint64_t{0} - 4, 16);
    bus.attach(a);
    CHECK(bus.find_mmio(0xd0000fff) == &a);
    CHECK(bus.find_mmio(0xd0001000) == nullptr);
    CHECK_THROWS_WITH(bus.attach(b), Catch::Contains("0xd0000800") && Catch::Contains("mmio-only [0xd0000000"));
    CHECK_THROWS_WITH(bus.attach(empty), Catch::Contains("not an MMIO range"));
    CHECK_THROWS_WITH(bus.attach(wrap), Catch::Contains("not an MMIO range"));
    uint8_t data[4] = {};
    VmExit read;
    read.kind = ExitKind::Mmio;
    read.mmio = {0xd0000010, false, {data, 4}};
    CHECK_THROWS_AS(dispatch(read, bus, false), std::logic_error);  // claims MMIO, serves none
}

TEST_CASE("unclaimed accesses: counted, the first few distinct ones remembered and named")
{
    PortBus bus;
    std::vector<uint8_t> page(4096);
    auto& run = *reinterpret_cast<kvm_run*>(page.data());
    auto io = [&](uint16_t port, bool out, uint8_t size) {
        run.exit_reason = KVM_EXIT_IO;
        run.io = {static_cast<uint8_t>(out ? KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN), size, port, 1, 2048};
        return decode_exit(run, page.size(), 0);
    };
    CHECK(describe_unclaimed(bus.unclaimed()).empty());
    for (int i = 0; i < 3; i++)
        dispatch(io(0xe0, false, 4), bus, false);
    uint8_t data[4];
    VmExit mmio;
    mmio.kind = ExitKind::Mmio;
    mmio.mmio = {0xff000000, false, {data, 4}};
    dispatch(mmio, bus, false);
    for (uint16_t p = 0x300; p < 0x310; p++)
        dispatch(io(p, true, 1), bus, false);
    const Unclaimed& u = bus.unclaimed();
    CHECK(u.ports == 19);
    CHECK(u.mmio == 1);
    REQUIRE(u.first.size() == Unclaimed::kRemembered);
    CHECK(u.first[0] == UnclaimedAccess{false, false, 0xe0, 4});
    CHECK(u.first[1] == UnclaimedAccess{true, false, 0xff000000, 4});
    CHECK(describe_unclaimed(u) ==
          "in 0xe0 (4 bytes), read 0xff000000 (4 bytes), out 0x300 (1 byte), out 0x301 (1 byte), out 0x302 (1 "
          "byte), out 0x303 (1 byte), out 0x304 (1 byte), out 0x305 (1 byte) and 12 more (no device claims them; "
          "they read all-ones)");
    PortBus other;
    other.set_unclaimed(u);  // what a snapshot keeps
    CHECK(other.unclaimed().first == u.first);
}
