// QEMU's firmware configuration device (fw_cfg), its port interface only, as
// kvm-unit-tests' x86 library reads it: the guest writes an item's 16-bit key to the
// selector port (0x510), then reads the item one byte at a time from the data port
// (0x511); selecting an item starts it over. Items served (keys in cr3rig/abi.h):
// the "QEMU" signature, the ID (port interface, no DMA), the RAM size and the CPU
// counts. Any other key, and any read past an item's end, gives zeros, as QEMU does.
// Writes to the data port are ignored (QEMU >= 2.4 has no writable items there).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "vmm/devices/device.hpp"

namespace cr3rig {

// Its state is the selection (the items never change after construction).
class FwCfg : public Device {
public:
    FwCfg(uint64_t ram_size, uint16_t cpus);

    std::string_view name() const override { return "fw_cfg"; }
    Claims claims() const override;
    ExitAction io(const IoAccess& access) override;
    std::unique_ptr<DeviceState> save() const override { return save_copy(selection_); }
    void restore(const DeviceState& state) override { selection_ = saved_copy<Selection>(state); }

private:
    void select(uint16_t key);
    uint8_t next_byte();

    struct Selection {
        uint16_t key = 0;
        size_t offset = 0;  // into the item: the next byte the data port gives
    };
    std::map<uint16_t, std::vector<uint8_t>> items_;
    Selection selection_;
};

}  // namespace cr3rig
