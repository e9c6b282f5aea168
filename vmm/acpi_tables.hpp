// The ACPI tables a PC's firmware leaves in the BIOS area, as kvm-unit-tests' lib/acpi.c
// finds them (a scan of [0xe0000, 0x100000) on 16-byte boundaries for the RSDP): RSDP
// (revision 2) -> RSDT and XSDT -> FADT (the PM registers of vmm/devices/acpi_pm, SCI
// IRQ 9, the FACS and an empty DSDT) and MADT (one local APIC per vCPU, the IOAPIC at
// 0xfec00000, IRQ 0 -> GSI 2 and the SCI as QEMU gives them). Written for every image
// at boot; the addresses are fixed (cr3rig/abi.h).
#pragma once

#include <cstdint>
#include <vector>

namespace cr3rig {

class GuestMemory;

// Where each table lands (guest-physical).
struct AcpiLayout {
    static constexpr uint64_t kRsdp = 0xe0000;
    static constexpr uint64_t kRsdt = 0xe0040;
    static constexpr uint64_t kXsdt = 0xe0080;
    static constexpr uint64_t kFacs = 0xe00c0;  // 64-byte aligned, as the spec asks
    static constexpr uint64_t kDsdt = 0xe0100;
    static constexpr uint64_t kFadt = 0xe0140;
    static constexpr uint64_t kMadt = 0xe0240;
    static constexpr uint32_t kFacsWakingVector = 12;  // offset of firmware_waking_vector
};

inline constexpr uint32_t kIoapicGpa = 0xfec00000;
inline constexpr uint32_t kLapicGpa = 0xfee00000;
// The most local APIC entries the tables hold (xAPIC IDs are 8 bits; 0xff is broadcast).
inline constexpr unsigned kAcpiMaxVcpus = 255;

// The tables' bytes, from AcpiLayout::kRsdp on. Throws BadInput for 0 or more than
// kAcpiMaxVcpus vCPUs.
std::vector<uint8_t> build_acpi_tables(unsigned vcpus);

// Writes them into guest memory (which must reach past the BIOS area: BadInput).
void write_acpi_tables(GuestMemory& memory, unsigned vcpus);

}  // namespace cr3rig
