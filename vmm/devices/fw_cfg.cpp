#include "vmm/devices/fw_cfg.hpp"

#include <cstring>

#include "cr3rig/abi.h"

namespace cr3rig {

namespace {

template <typename T>
std::vector<uint8_t> little_endian(T value)
{
    std::vector<uint8_t> bytes(sizeof(T));
    for (size_t i = 0; i < sizeof(T); i++)
        bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    return bytes;
}

constexpr uint32_t kIdPortInterface = 1u << 0;  // bit 1 would announce DMA, which cr3rig lacks

}  // namespace

FwCfg::FwCfg(uint64_t ram_size, uint16_t cpus)
{
    items_[CR3RIG_FW_CFG_SIGNATURE] = {'Q', 'E', 'M', 'U'};
    items_[CR3RIG_FW_CFG_ID] = little_endian<uint32_t>(kIdPortInterface);
    items_[CR3RIG_FW_CFG_RAM_SIZE] = little_endian<uint64_t>(ram_size);
    items_[CR3RIG_FW_CFG_NB_CPUS] = little_endian<uint16_t>(cpus);
    items_[CR3RIG_FW_CFG_MAX_CPUS] = little_endian<uint16_t>(cpus);
}

void FwCfg::select(uint16_t key)
{
    selection_ = {key, 0};
}

uint8_t FwCfg::next_byte()
{
    auto it = items_.find(selection_.key);
    if (it == items_.end() || selection_.offset >= it->second.size())
        return 0;
    return it->second[selection_.offset++];
}

Claims FwCfg::claims() const { return {{{CR3RIG_FW_CFG_PORT, CR3RIG_FW_CFG_IO_LEN}}, {}}; }

ExitAction FwCfg::io(const IoAccess& access)
{
    bool selector = access.port == CR3RIG_FW_CFG_SELECTOR_PORT;
    if (access.out) {
        if (selector)
            select(static_cast<uint16_t>(access.value()));
        return std::nullopt;
    }
    // The data port is a byte stream: a wider or repeated read takes that many bytes
    // in a row. The selector reads as zeros.
    for (auto& byte : access.data)
        byte = selector ? 0 : next_byte();
    return std::nullopt;
}

}  // namespace cr3rig
