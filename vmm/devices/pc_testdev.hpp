// QEMU's pc-testdev (hw/misc/pc-testdev.c), which kvm-unit-tests' x86 tests use: a
// 32-bit data register at ports 0xe0-0xe3 (and again byte-wise at 0xe8-0xeb) that
// reads back what was written, at any size; the flush-page port 0xe4 (a 4-byte write of
// a guest-physical address: the host page behind it is unmapped and mapped again, so
// KVM drops its mappings of it; its contents stay); one port per interrupt line at
// 0x2000 + irq (24 lines, a byte write sets the line's level, a wider write is its
// bytes at consecutive lines as QEMU splits it); and 64 KiB of "iomem" at 0xff000000
// that reads back what was written, through MMIO exits.
#pragma once

#include <array>
#include <cstdint>

#include "vmm/devices/device.hpp"
#include "vmm/platform.hpp"

namespace cr3rig {

class GuestMemory;

class PcTestdev : public Device {
public:
    PcTestdev(GuestMemory& memory, Platform& platform);

    std::string_view name() const override { return "pc-testdev"; }
    Claims claims() const override;
    ExitAction io(const IoAccess& access) override;
    ExitAction mmio(const MmioAccess& access) override;
    std::unique_ptr<DeviceState> save() const override { return save_copy(state_); }
    void restore(const DeviceState& s) override { state_ = saved_copy<State>(s); }

    uint64_t pages_flushed() const { return pages_flushed_; }

private:
    struct State {
        uint32_t data = 0;
        std::array<uint8_t, 0x10000> iomem{};
    };
    void flush_page(uint64_t gpa);

    GuestMemory& memory_;
    Platform& platform_;
    State state_;
    uint64_t pages_flushed_ = 0;
};

}  // namespace cr3rig
