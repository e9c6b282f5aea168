// A 16550-style UART, transmit only: what the guest writes to THR goes to the sink.
// The line-status register always reports "transmitter empty", so polling guests
// never wait; the other registers hold what was written to them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "vmm/devices/device.hpp"

namespace cr3rig {

// Its state is its registers; the port and the sink are what it was built with.
class Uart : public Device {
public:
    using Sink = std::function<void(char)>;
    Uart(uint16_t base, Sink sink) : base_(base), sink_(std::move(sink)) {}

    std::string_view name() const override { return "uart"; }
    Claims claims() const override;
    ExitAction io(const IoAccess& access) override;
    std::unique_ptr<DeviceState> save() const override { return save_copy(regs_); }
    void restore(const DeviceState& state) override { regs_ = saved_copy<Registers>(state); }

private:
    uint8_t read_register(unsigned offset) const;
    void write_register(unsigned offset, uint8_t value);

    struct Registers {
        std::array<uint8_t, 8> by_offset{};  // IER, LCR, MCR, SCR live here
        uint8_t divisor_low = 0, divisor_high = 0;
    };
    uint16_t base_;
    Sink sink_;
    Registers regs_;
};

}  // namespace cr3rig
