#include "vmm/devices/uart.hpp"

#include "cr3rig/abi.h"

namespace cr3rig {

namespace {

enum : unsigned { kThr = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7 };
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kMsrCtsDsrDcd = 0xb0;

}  // namespace

uint8_t Uart::read_register(unsigned offset) const
{
    bool dlab = regs_.by_offset[kLcr] & kLcrDlab;
    switch (offset) {
    case kThr: return dlab ? regs_.divisor_low : 0;  // receive buffer: nothing is ever received
    case kIer: return dlab ? regs_.divisor_high : regs_.by_offset[kIer];
    case kIir: return kIirNoInterrupt;
    case kLsr: return kLsrThre | kLsrTemt;
    case kMsr: return kMsrCtsDsrDcd;
    default: return regs_.by_offset[offset];
    }
}

void Uart::write_register(unsigned offset, uint8_t value)
{
    bool dlab = regs_.by_offset[kLcr] & kLcrDlab;
    if (offset == kThr && !dlab)
        sink_(static_cast<char>(value));
    else if (offset == kThr)
        regs_.divisor_low = value;
    else if (offset == kIer && dlab)
        regs_.divisor_high = value;
    else if (offset != kIir && offset != kLsr && offset != kMsr)
        regs_.by_offset[offset] = value;
}

Claims Uart::claims() const { return {{{base_, CR3RIG_UART_LEN}}, {}}; }

ExitAction Uart::io(const IoAccess& access)
{
    unsigned offset = static_cast<unsigned>(access.port - base_) & 7;
    // Each element of a rep ins/outs is one register access; wider accesses use the low byte.
    for (size_t i = 0; i < access.data.size(); i += access.size) {
        if (access.out)
            write_register(offset, access.data[i]);
        else
            for (size_t b = 0; b < access.size; b++)
                access.data[i + b] = b == 0 ? read_register(offset) : 0;
    }
    return std::nullopt;
}

}  // namespace cr3rig
