// A device of the machine, self-contained: its name, the port and MMIO ranges it
// claims, what it does with an access, and its own state for snapshots. The machine
// holds the list (vmm/machine.cpp: one line per device); the bus and the snapshot's
// device part are built from it, and two devices that claim the same port or the same
// guest-physical byte are refused at start-up.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vmm/dispatch.hpp"
#include "vmm/vm_exit.hpp"

namespace cr3rig {

struct PortRange {
    uint16_t base;
    uint16_t len;  // [base, base + len)
};

struct MmioRange {
    uint64_t base;
    uint64_t len;  // [base, base + len), guest-physical
};

struct Claims {
    std::vector<PortRange> ports;
    std::vector<MmioRange> mmio;  // served by mmio()
};

// What a device keeps of itself in a snapshot. Only the device that saved it reads
// it back; most keep a copy of a plain struct (StateOf).
class DeviceState {
public:
    virtual ~DeviceState() = default;
};

template <typename T>
class StateOf : public DeviceState {
public:
    explicit StateOf(const T& v) : value(v) {}
    T value;
};

class Device {
public:
    virtual ~Device() = default;
    virtual std::string_view name() const = 0;  // in messages: "uart", "rig port"
    virtual Claims claims() const = 0;
    // An access to a claimed port. For `in`, the device fills access.data.
    virtual ExitAction io(const IoAccess& access) = 0;
    // An access inside a claimed MMIO range (access.gpa is guest-physical). For a read,
    // the device fills access.data. Only devices that claim MMIO are asked.
    virtual ExitAction mmio(const MmioAccess&)
    {
        throw std::logic_error(std::string(name()) + " claims MMIO but serves none");
    }
    // The state a snapshot keeps, nullptr for none (the default); restore() gets back
    // what save() gave. What a device was built with (its ports, sinks, contents)
    // is not state.
    virtual std::unique_ptr<DeviceState> save() const { return nullptr; }
    virtual void restore(const DeviceState&) {}

protected:
    // For a state that is a copy of a T.
    template <typename T>
    static std::unique_ptr<DeviceState> save_copy(const T& value)
    {
        return std::make_unique<StateOf<T>>(value);
    }
    template <typename T>
    const T& saved_copy(const DeviceState& state) const
    {
        const auto* s = dynamic_cast<const StateOf<T>*>(&state);
        if (!s)
            throw std::logic_error(std::string(name()) + ": restore given another device's state");
        return s->value;
    }
};

}  // namespace cr3rig
