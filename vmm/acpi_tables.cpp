#include "vmm/acpi_tables.hpp"

#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/errors.hpp"
#include "cr3rig/abi.h"
#include "vmm/guest_memory.hpp"

namespace cr3rig {

namespace {

constexpr std::string_view kOemId = "CR3RIG";      // 6 bytes
constexpr std::string_view kOemTableId = "CR3RIG  ";  // 8 bytes
constexpr uint32_t kHeaderBytes = 36;
constexpr uint32_t kFadtBytes = 244;  // revision 3 (ACPI 2.0): up to X_GPE1_BLK
constexpr uint32_t kFacsBytes = 64;
static_assert(AcpiLayout::kRsdp == CR3RIG_ACPI_TABLES_GPA, "the RSDP opens the ACPI area");
static_assert(CR3RIG_ACPI_TABLES_GPA >= CR3RIG_BIOS_AREA_GPA && CR3RIG_ACPI_TABLES_END <= CR3RIG_MB_BOOT_STACK_TOP - 0x4000,
              "the ACPI tables stay clear of the multiboot stack");

// A table's bytes, written little-endian at explicit offsets (the spec's).
class Bytes {
public:
    explicit Bytes(size_t size) : b_(size, 0) {}
    void u8(size_t at, uint8_t v) { b_.at(at) = v; }
    void u16(size_t at, uint16_t v) { put(at, v, 2); }
    void u32(size_t at, uint32_t v) { put(at, v, 4); }
    void u64(size_t at, uint64_t v) { put(at, v, 8); }
    void text(size_t at, std::string_view s)
    {
        for (size_t i = 0; i < s.size(); i++)
            b_.at(at + i) = static_cast<uint8_t>(s[i]);
    }
    // The byte at `at` makes [from, from + len) sum to zero.
    void checksum(size_t at, size_t from, size_t len)
    {
        b_.at(at) = 0;
        uint8_t sum = std::accumulate(b_.begin() + from, b_.begin() + from + len, uint8_t{0});
        b_[at] = static_cast<uint8_t>(-sum);
    }
    std::vector<uint8_t>& get() { return b_; }

private:
    void put(size_t at, uint64_t v, size_t n)
    {
        for (size_t i = 0; i < n; i++)
            b_.at(at + i) = static_cast<uint8_t>(v >> (8 * i));
    }
    std::vector<uint8_t> b_;
};

// The common header of every table but the RSDP and FACS; checksum() once filled in.
Bytes table(std::string_view signature, uint32_t length, uint8_t revision)
{
    Bytes t(length);
    t.text(0, signature);
    t.u32(4, length);
    t.u8(8, revision);
    t.text(10, kOemId);
    t.text(16, kOemTableId);
    t.u32(24, 1);          // OEM revision
    t.text(28, "CRRG");    // creator ID
    t.u32(32, 1);          // creator revision
    return t;
}

std::vector<uint8_t> sealed(Bytes t)
{
    t.checksum(9, 0, t.get().size());
    return std::move(t.get());
}

std::vector<uint8_t> rsdp()
{
    Bytes t(36);
    t.text(0, "RSD PTR ");
    t.text(9, kOemId);
    t.u8(15, 2);  // revision 2: the XSDT is there too
    t.u32(16, AcpiLayout::kRsdt);
    t.u32(20, 36);
    t.u64(24, AcpiLayout::kXsdt);
    t.checksum(8, 0, 20);   // ACPI 1.0 part
    t.checksum(32, 0, 36);  // the whole structure
    return std::move(t.get());
}

std::vector<uint8_t> rsdt()
{
    Bytes t = table("RSDT", kHeaderBytes + 2 * 4, 1);
    t.u32(36, AcpiLayout::kFadt);
    t.u32(40, AcpiLayout::kMadt);
    return sealed(std::move(t));
}

std::vector<uint8_t> xsdt()
{
    Bytes t = table("XSDT", kHeaderBytes + 2 * 8, 1);
    t.u64(36, AcpiLayout::kFadt);
    t.u64(44, AcpiLayout::kMadt);
    return sealed(std::move(t));
}

std::vector<uint8_t> facs()
{
    Bytes t(kFacsBytes);  // no checksum: the FACS has none
    t.text(0, "FACS");
    t.u32(4, kFacsBytes);
    t.u32(AcpiLayout::kFacsWakingVector, 0);
    t.u8(32, 1);  // version 1 (ACPI 2.0 layout)
    return std::move(t.get());
}

// No AML: the tables describe the hardware; an OS wanting _S3 and friends gets none.
std::vector<uint8_t> dsdt() { return sealed(table("DSDT", kHeaderBytes, 2)); }

// A generic address structure for an I/O port register.
void io_gas(Bytes& t, size_t at, uint16_t port, uint8_t bits)
{
    t.u8(at, 1);  // system I/O space
    t.u8(at + 1, bits);
    t.u8(at + 3, bits == 32 ? 3 : bits == 16 ? 2 : 1);  // access size: dword, word, byte
    t.u64(at + 4, port);
}

std::vector<uint8_t> fadt()
{
    Bytes t = table("FACP", kFadtBytes, 3);
    t.u32(36, AcpiLayout::kFacs);  // FIRMWARE_CTRL
    t.u32(40, AcpiLayout::kDsdt);
    t.u16(46, CR3RIG_ACPI_SCI_IRQ);
    // SMI_CMD 0: ACPI mode is always on (SCI_EN reads 1), nothing to enable.
    t.u32(56, CR3RIG_ACPI_PM1A_EVT);
    t.u32(64, CR3RIG_ACPI_PM1A_CNT);
    t.u32(76, CR3RIG_ACPI_PM_TMR);
    t.u8(88, 4);  // PM1_EVT_LEN: status and enable, 2 bytes each
    t.u8(89, 2);  // PM1_CNT_LEN
    t.u8(91, 4);  // PM_TMR_LEN
    t.u16(96, 0xfff);   // P_LVL2_LAT: C2 not supported
    t.u16(98, 0xfff);   // P_LVL3_LAT: C3 not supported
    t.u8(108, 0x32);    // CENTURY: the CMOS byte that holds it
    t.u16(109, 0);      // IAPC_BOOT_ARCH
    // FLAGS: WBINVD, PROC_C1, SLP_BUTTON (none), RTC_S4; TMR_VAL_EXT clear: a 24-bit timer.
    t.u32(112, (1u << 0) | (1u << 2) | (1u << 5) | (1u << 7));
    t.u64(132, AcpiLayout::kFacs);  // X_FIRMWARE_CTRL
    t.u64(140, AcpiLayout::kDsdt);  // X_DSDT
    io_gas(t, 148, CR3RIG_ACPI_PM1A_EVT, 32);
    io_gas(t, 172, CR3RIG_ACPI_PM1A_CNT, 16);
    io_gas(t, 208, CR3RIG_ACPI_PM_TMR, 32);
    return sealed(std::move(t));
}

std::vector<uint8_t> madt(unsigned vcpus)
{
    constexpr uint32_t kLapic = 8, kIoapic = 12, kOverride = 10, kLapicNmi = 6;
    uint32_t length = kHeaderBytes + 8 + vcpus * kLapic + kIoapic + 2 * kOverride + kLapicNmi;
    Bytes t = table("APIC", length, 1);
    t.u32(36, kLapicGpa);
    t.u32(40, 1);  // PCAT_COMPAT: there are 8259s too
    size_t at = 44;
    for (unsigned i = 0; i < vcpus; i++, at += kLapic) {
        t.u8(at, 0);  // processor local APIC
        t.u8(at + 1, kLapic);
        t.u8(at + 2, static_cast<uint8_t>(i));  // ACPI processor UID
        t.u8(at + 3, static_cast<uint8_t>(i));  // APIC ID
        t.u32(at + 4, 1);                       // enabled
    }
    t.u8(at, 1);  // I/O APIC
    t.u8(at + 1, kIoapic);
    t.u8(at + 2, 0);  // its ID
    t.u32(at + 4, kIoapicGpa);
    t.u32(at + 8, 0);  // GSI base
    at += kIoapic;
    // The PIT's IRQ 0 is wired to IOAPIC pin 2; the SCI is level-triggered, active high.
    const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } overrides[] = {{0, 2, 0}, {CR3RIG_ACPI_SCI_IRQ, CR3RIG_ACPI_SCI_IRQ, 0xd}};
    for (const auto& o : overrides) {
        t.u8(at, 2);
        t.u8(at + 1, kOverride);
        t.u8(at + 2, 0);  // ISA bus
        t.u8(at + 3, o.irq);
        t.u32(at + 4, o.gsi);
        t.u16(at + 8, o.flags);
        at += kOverride;
    }
    t.u8(at, 4);  // local APIC NMI: LINT1 of every processor
    t.u8(at + 1, kLapicNmi);
    t.u8(at + 2, 0xff);
    t.u16(at + 3, 0);
    t.u8(at + 5, 1);
    return sealed(std::move(t));
}

void place(std::vector<uint8_t>& area, uint64_t gpa, const std::vector<uint8_t>& bytes)
{
    std::memcpy(area.data() + (gpa - AcpiLayout::kRsdp), bytes.data(), bytes.size());
}

}  // namespace

std::vector<uint8_t> build_acpi_tables(unsigned vcpus)
{
    if (vcpus == 0 || vcpus > kAcpiMaxVcpus)
        throw BadInput("the ACPI tables describe 1 to " + std::to_string(kAcpiMaxVcpus) + " vCPUs, not " +
                       std::to_string(vcpus));
    std::vector<uint8_t> area(CR3RIG_ACPI_TABLES_END - CR3RIG_ACPI_TABLES_GPA, 0);
    place(area, AcpiLayout::kRsdp, rsdp());
    place(area, AcpiLayout::kRsdt, rsdt());
    place(area, AcpiLayout::kXsdt, xsdt());
    place(area, AcpiLayout::kFacs, facs());
    place(area, AcpiLayout::kDsdt, dsdt());
    place(area, AcpiLayout::kFadt, fadt());
    std::vector<uint8_t> m = madt(vcpus);
    if (AcpiLayout::kMadt + m.size() > CR3RIG_ACPI_TABLES_END)
        throw std::logic_error("the MADT outgrows the ACPI area");
    place(area, AcpiLayout::kMadt, m);
    return area;
}

void write_acpi_tables(GuestMemory& memory, unsigned vcpus)
{
    std::vector<uint8_t> area = build_acpi_tables(vcpus);
    if (!memory.contains(CR3RIG_ACPI_TABLES_GPA, area.size()))
        throw BadInput("guest memory ends before the BIOS area where the ACPI tables go");
    memory.write_bytes(CR3RIG_ACPI_TABLES_GPA, area);
}

}  // namespace cr3rig
