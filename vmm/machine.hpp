// The VM a guest runs in: KVM objects, guest memory, the vCPU and the devices, wired
// together. The devices are a list: the machine's own (core_devices() in machine.cpp,
// one line each), then the caller's RunOptions::extra_devices (e.g. the bench port).
// The port bus is built from their claims, and a snapshot keeps each one's state.
#pragma once

#include <memory>
#include <vector>

#include "vmm/completion/complete_on_vcpu.hpp"
#include "vmm/devices/device.hpp"
#include "vmm/devices/rig_port.hpp"
#include "vmm/dispatch.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/kvm.hpp"
#include "vmm/machine_platform.hpp"
#include "vmm/ram_slots.hpp"

namespace cr3rig {

class BootImage;
struct RunOptions;
struct RunResult;

// One entry per device of a machine, in its list's order; nullptr for a device that
// keeps no state.
using DeviceStates = std::vector<std::unique_ptr<DeviceState>>;

struct Machine {
    // Throws KvmUnavailable (no usable KVM), KvmError, BadInput (the image does not
    // fit), and std::logic_error when two devices claim the same port (a programming
    // error: the message names both and the port).
    Machine(const BootImage& image, const RunOptions& options, RunResult& result);
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    DeviceStates save_devices() const;
    void restore_devices(const DeviceStates& states);

    Kvm kvm;
    Vm vm;
    GuestMemory memory;
    RamSlots ram;                                      // memory's KVM slots: all RAM read-write at first
    MachinePlatform platform;                          // what devices ask of the machine
    std::vector<std::unique_ptr<Device>> own_devices;  // the core devices
    std::vector<Device*> devices;                      // own_devices, then the extra ones
    RigPort& rig;                                      // the result reads its counters
    std::vector<kvm_cpuid_entry2> cpuid;               // the CPU model's, before each vCPU's APIC ID
    Vcpu vcpu;                                         // vCPU 0, the bootstrap processor: the image's entry
    std::vector<Vcpu> aps;                             // vCPUs 1..N-1, in KVM's reset state until INIT/SIPI
    PortBus bus;
    InstructionCompletion completion;  // what the backend cannot emulate (vmm/completion/)

    // vCPU `id`: 0 is `vcpu`, the others are aps[id - 1].
    Vcpu& vcpu_of(unsigned id) { return id == 0 ? vcpu : aps.at(id - 1); }
    unsigned vcpu_count() const { return static_cast<unsigned>(aps.size()) + 1; }

private:
    Vcpu create_boot_vcpu(const RunOptions& options);
    Vcpu create_vcpu(unsigned id);
};

}  // namespace cr3rig
