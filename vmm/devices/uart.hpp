// A 16550-style UART, transmit only: what the guest writes to THR goes to the sink.
// The line-status register always reports "transmitter empty", so polling guests
// never wait; the other registers hold what was written to them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "vmm/dispatch.hpp"

namespace cr3rig {

class Uart : public PortDevice {
public:
    using Sink = std::function<void(char)>;
    Uart(uint16_t base, Sink sink) : base_(base), sink_(std::move(sink)) {}

    ExitAction io(const IoAccess& access) override;

private:
    uint8_t read_register(unsigned offset) const;
    void write_register(unsigned offset, uint8_t value);

    uint16_t base_;
    Sink sink_;
    std::array<uint8_t, 8> regs_{};  // IER, LCR, MCR, SCR and the divisor latch live here
    uint8_t divisor_low_ = 0, divisor_high_ = 0;
};

}  // namespace cr3rig
