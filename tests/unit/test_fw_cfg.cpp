// The fw_cfg device as kvm-unit-tests' fwcfg_get_u*() drives it: a 16-bit key to the
// selector port, then bytes from the data port. No KVM: accesses are built here.
#include <catch2/catch.hpp>
#include <vector>

#include "cr3rig/abi.h"
#include "vmm/devices/fw_cfg.hpp"

using namespace cr3rig;

namespace {

void select(FwCfg& fw_cfg, uint16_t key)
{
    std::vector<uint8_t> data{static_cast<uint8_t>(key), static_cast<uint8_t>(key >> 8)};
    CHECK_FALSE(fw_cfg.io(IoAccess{CR3RIG_FW_CFG_SELECTOR_PORT, 2, 1, true, data}).has_value());
}

// `count` single-byte reads of the data port (a `rep insb` when count > 1).
std::vector<uint8_t> read_bytes(FwCfg& fw_cfg, uint32_t count, uint8_t size = 1)
{
    std::vector<uint8_t> data(count * size, 0xee);
    CHECK_FALSE(fw_cfg.io(IoAccess{CR3RIG_FW_CFG_DATA_PORT, size, count, false, data}).has_value());
    return data;
}

// What fwcfg_get_u(key, bytes) returns: select, then `bytes` byte reads, little-endian.
uint64_t read_item(FwCfg& fw_cfg, uint16_t key, unsigned bytes)
{
    select(fw_cfg, key);
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes; i++)
        value |= uint64_t{read_bytes(fw_cfg, 1)[0]} << (8 * i);
    return value;
}

}  // namespace

TEST_CASE("fw_cfg serves the signature, ID, RAM size and CPU counts")
{
    FwCfg fw_cfg(96ull << 20, 1);
    select(fw_cfg, CR3RIG_FW_CFG_SIGNATURE);
    CHECK(read_bytes(fw_cfg, 4) == std::vector<uint8_t>{'Q', 'E', 'M', 'U'});
    CHECK(read_item(fw_cfg, CR3RIG_FW_CFG_ID, 4) == 1);  // port interface, no DMA
    CHECK(read_item(fw_cfg, CR3RIG_FW_CFG_RAM_SIZE, 8) == 96ull << 20);
    CHECK(read_item(fw_cfg, CR3RIG_FW_CFG_NB_CPUS, 2) == 1);
    CHECK(read_item(fw_cfg, CR3RIG_FW_CFG_MAX_CPUS, 2) == 1);
}

TEST_CASE("fw_cfg reads past an item's end and unknown keys as zeros")
{
    FwCfg fw_cfg(64ull << 20, 1);
    select(fw_cfg, CR3RIG_FW_CFG_NB_CPUS);
    CHECK(read_bytes(fw_cfg, 4) == std::vector<uint8_t>{1, 0, 0, 0});
    CHECK(read_item(fw_cfg, 0x19, 4) == 0);      // the file directory: no files
    CHECK(read_item(fw_cfg, 0x8000, 8) == 0);    // arch-local keys: none
    CHECK(read_item(fw_cfg, 0xffff, 8) == 0);
}

TEST_CASE("fw_cfg starts an item over when it is selected again")
{
    FwCfg fw_cfg(64ull << 20, 1);
    select(fw_cfg, CR3RIG_FW_CFG_SIGNATURE);
    CHECK(read_bytes(fw_cfg, 2) == std::vector<uint8_t>{'Q', 'E'});
    select(fw_cfg, CR3RIG_FW_CFG_SIGNATURE);
    CHECK(read_bytes(fw_cfg, 1) == std::vector<uint8_t>{'Q'});
    // A 16-bit read of the data port takes two bytes in a row; the selector reads as 0.
    CHECK(read_bytes(fw_cfg, 1, 2) == std::vector<uint8_t>{'E', 'M'});
    std::vector<uint8_t> selector(2, 0xee);
    fw_cfg.io(IoAccess{CR3RIG_FW_CFG_SELECTOR_PORT, 2, 1, false, selector});
    CHECK(selector == std::vector<uint8_t>{0, 0});
}

TEST_CASE("fw_cfg ignores writes to the data port and saves and restores its selection")
{
    FwCfg fw_cfg(64ull << 20, 1);
    select(fw_cfg, CR3RIG_FW_CFG_RAM_SIZE);
    std::vector<uint8_t> junk{0x12};
    fw_cfg.io(IoAccess{CR3RIG_FW_CFG_DATA_PORT, 1, 1, true, junk});
    CHECK(read_bytes(fw_cfg, 1)[0] == 0);  // 64 MiB: the low byte is 0, unchanged by the write
    auto saved = fw_cfg.save();            // what a snapshot keeps
    REQUIRE(saved);
    CHECK(read_bytes(fw_cfg, 3) == std::vector<uint8_t>{0, 0, 4});
    select(fw_cfg, CR3RIG_FW_CFG_SIGNATURE);
    fw_cfg.restore(*saved);
    CHECK(read_bytes(fw_cfg, 3) == std::vector<uint8_t>{0, 0, 4});
}
