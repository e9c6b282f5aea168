#include "vmm/machine.hpp"

#include <stdexcept>
#include <string>

#include "common/errors.hpp"
#include "cr3rig/abi.h"
#include "vmm/acpi_tables.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/devices/acpi_pm.hpp"
#include "vmm/devices/debug_exit.hpp"
#include "vmm/devices/fw_cfg.hpp"
#include "vmm/devices/pc_testdev.hpp"
#include "vmm/devices/rtc.hpp"
#include "vmm/devices/uart.hpp"
#include "vmm/runner.hpp"

namespace cr3rig {

namespace {

// The TSS KVM needs on Intel hosts for real-mode emulation: three pages just below
// the BIOS area at 4 GiB, far above any guest RAM the rig hands out.
constexpr uint64_t kKvmTssGpa = 0xfffbd000;

// A guest can print without end: the result keeps this much of its console (the
// live on_console stream gets all of it).
constexpr size_t kConsoleKept = 1 << 20;

// Not in Debian bookworm's <linux/kvm.h> (Linux 6.1); the capability came with 6.11.
constexpr uint32_t kCapApicBusCyclesNs = 237;

Uart::Sink console_sink(const RunOptions& options, RunResult& result)
{
    return [&result, &options](char c) {
        if (result.console.size() < kConsoleKept)
            result.console += c;
        else
            result.console_dropped++;
        if (options.on_console)
            options.on_console(c);
    };
}

// The devices every machine has, in the order the bus and the snapshot take them.
// A new device is its file in vmm/devices/ and one line here.
std::vector<std::unique_ptr<Device>> core_devices(GuestMemory& memory, Platform& platform, const RunOptions& options,
                                                  RunResult& result)
{
    std::vector<std::unique_ptr<Device>> list;
    list.push_back(std::make_unique<Uart>(CR3RIG_UART_PORT, console_sink(options, result)));
    list.push_back(std::make_unique<DebugExit>());
    list.push_back(std::make_unique<FwCfg>(options.memory_bytes, 1));
    list.push_back(std::make_unique<RigPort>(memory, RigPort::Sinks{options.on_log, options.on_trace, options.on_bad_message}));
    auto rtc = std::make_unique<Rtc>(host_clock(), options.memory_bytes, options.vcpus);
    Rtc& rtc_wakes_pm = *rtc;
    list.push_back(std::move(rtc));
    list.push_back(std::make_unique<AcpiPm>(host_clock(), platform, rtc_wakes_pm));
    list.push_back(std::make_unique<PcTestdev>(memory, platform));
    return list;
}

std::vector<Device*> all_devices(const std::vector<std::unique_ptr<Device>>& own, const std::vector<Device*>& extra)
{
    std::vector<Device*> all;
    for (const auto& d : own)
        all.push_back(d.get());
    for (Device* d : extra) {
        if (!d)
            throw std::logic_error("RunOptions::extra_devices holds a null device");
        all.push_back(d);
    }
    return all;
}

template <typename T>
T& the_device(const std::vector<std::unique_ptr<Device>>& list)
{
    for (const auto& d : list)
        if (auto* t = dynamic_cast<T*>(d.get()))
            return *t;
    throw std::logic_error("the machine lacks one of its core devices");
}

Kvm open_kvm()
{
    Kvm k;
    k.require_capabilities();
    return k;
}

}  // namespace

Machine::Machine(const BootImage& image, const RunOptions& options, RunResult& result)
    : kvm(open_kvm()),
      vm(kvm.create_vm()),
      memory(options.memory_bytes),
      platform(vm, memory),
      own_devices(core_devices(memory, platform, options, result)),
      devices(all_devices(own_devices, options.extra_devices)),
      rig(the_device<RigPort>(own_devices)),
      vcpu(create_vcpu(options.apic_bus_cycle_ns))
{
    for (Device* d : devices)
        bus.attach(*d);
    write_acpi_tables(memory, options.vcpus);  // before the image: it may not overlap them
    image.boot(memory, vcpu, BootArgs{options.cmdline, options.modules});
}

Vcpu Machine::create_vcpu(uint64_t apic_bus_cycle_ns)
{
    vm.set_user_memory_region(0, 0, memory.size(), memory.host_base());
    vm.create_irqchip();  // must precede vCPU creation: gives the vCPU its LAPIC
    if (apic_bus_cycle_ns) {
        if (vm.check_extension(kCapApicBusCyclesNs) <= 0)
            throw KvmUnavailable("KVM lacks KVM_CAP_X86_APIC_BUS_CYCLES_NS, needed by the rig clock");
        vm.enable_cap(kCapApicBusCyclesNs, apic_bus_cycle_ns);
    }
    vm.set_tss_addr(kKvmTssGpa);
    Vcpu v = vm.create_vcpu(0);
    v.set_cpuid(kvm.supported_cpuid());
    return v;
}

DeviceStates Machine::save_devices() const
{
    DeviceStates states;
    for (const Device* d : devices)
        states.push_back(d->save());
    return states;
}

void Machine::restore_devices(const DeviceStates& states)
{
    if (states.size() != devices.size())
        throw std::logic_error("device states of another machine");
    for (size_t i = 0; i < devices.size(); i++)
        if (states[i])
            devices[i]->restore(*states[i]);
}

}  // namespace cr3rig
