#include "mb.h"

uint64_t fw_cfg_read(uint16_t key, unsigned bytes)
{
    uint64_t value = 0;
    outw(CR3RIG_FW_CFG_SELECTOR_PORT, key);
    for (unsigned i = 0; i < bytes && i < 8; i++)
        value |= (uint64_t)inb(CR3RIG_FW_CFG_DATA_PORT) << (8 * i);
    return value;
}
