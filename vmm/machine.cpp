#include "vmm/machine.hpp"

#include <stdexcept>
#include <string>

#include "common/errors.hpp"
#include "cr3rig/abi.h"
#include "vmm/acpi_tables.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/cpu_model.hpp"
#include "vmm/cpu_topology.hpp"
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
    list.push_back(std::make_unique<FwCfg>(options.memory_bytes, static_cast<uint16_t>(options.vcpus)));
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

// Bit 24 of CPUID.01H:ECX. KVM emulates the TSC-deadline timer in its in-kernel LAPIC
// but KVM_GET_SUPPORTED_CPUID leaves the bit out; the VMM adds it when the capability
// says so, as QEMU does.
constexpr uint32_t kTscDeadlineBit = 1u << 24;

// What KVM can give a vCPU of this machine (which has the in-kernel irqchip).
std::vector<kvm_cpuid_entry2> offered_cpuid(const Kvm& kvm)
{
    std::vector<kvm_cpuid_entry2> table = kvm.supported_cpuid();
    if (kvm.check_extension(KVM_CAP_TSC_DEADLINE_TIMER) > 0)
        for (auto& e : table)
            if (e.function == 1)
                e.ecx |= kTscDeadlineBit;
    return table;
}

// The vCPUs' CPUID: KVM's table unchanged without a model (as before models existed),
// else the model's. Throws BadInput / Unsupported for a spec cr3rig cannot give.
std::vector<kvm_cpuid_entry2> model_cpuid(const Kvm& kvm, const RunOptions& options)
{
    if (options.cpu.empty())
        return kvm.supported_cpuid();
    CpuModel model = apply_cpu_model(offered_cpuid(kvm), options.cpu);
    if (options.on_warning)
        for (const auto& w : model.warnings)
            options.on_warning(w);
    return std::move(model.cpuid);
}

// The vCPU count, checked against what KVM allows (KVM_CAP_MAX_VCPUS, else the
// recommended KVM_CAP_NR_VCPUS, else 4 as the API documents).
unsigned checked_vcpu_count(const Kvm& kvm, unsigned vcpus)
{
    if (vcpus == 0)
        throw BadInput("a machine needs at least one vCPU");
    int max = kvm.check_extension(KVM_CAP_MAX_VCPUS);
    if (max <= 0)
        max = kvm.check_extension(KVM_CAP_NR_VCPUS);
    if (max <= 0)
        max = 4;
    if (vcpus > static_cast<unsigned>(max))
        throw Unsupported(std::to_string(vcpus) + " vCPUs: this host's KVM allows at most " + std::to_string(max) +
                          " (KVM_CAP_MAX_VCPUS)");
    return vcpus;
}

}  // namespace

Machine::Machine(const BootImage& image, const RunOptions& options, RunResult& result)
    : kvm(open_kvm()),
      vm(kvm.create_vm()),
      memory(options.memory_bytes),
      ram(vm, memory),
      platform(vm, memory),
      own_devices(core_devices(memory, platform, options, result)),
      devices(all_devices(own_devices, options.extra_devices)),
      rig(the_device<RigPort>(own_devices)),
      cpuid(model_cpuid(kvm, options)),
      vcpu(create_boot_vcpu(options)),
      completion(memory, options.complete_instructions, options.on_note)
{
    unsigned count = checked_vcpu_count(kvm, options.vcpus);
    aps.reserve(count - 1);
    for (unsigned id = 1; id < count; id++)
        aps.push_back(create_vcpu(id));
    for (Device* d : devices)
        bus.attach(*d);
    write_acpi_tables(memory, options.vcpus);  // before the image: it may not overlap them
    image.boot(memory, vcpu, BootArgs{options.cmdline, options.modules});
}

// Sets up what must precede the first vCPU, then creates vCPU 0.
Vcpu Machine::create_boot_vcpu(const RunOptions& options)
{
    checked_vcpu_count(kvm, options.vcpus);  // before anything is built for them
    vm.create_irqchip();  // must precede vCPU creation: gives each vCPU its LAPIC
    if (options.apic_bus_cycle_ns) {
        if (vm.check_extension(kCapApicBusCyclesNs) <= 0)
            throw KvmUnavailable("KVM lacks KVM_CAP_X86_APIC_BUS_CYCLES_NS, needed by the rig clock");
        vm.enable_cap(kCapApicBusCyclesNs, options.apic_bus_cycle_ns);
    }
    // Every emulation failure exits to the VMM (which completes the instruction or
    // names it), instead of KVM injecting #UD where the guest runs outside CPL0.
    if (options.complete_instructions && vm.check_extension(KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0)
        vm.enable_cap(KVM_CAP_EXIT_ON_EMULATION_FAILURE, 1);
    vm.set_tss_addr(kKvmTssGpa);
    return create_vcpu(0);
}

// KVM gives vCPU `id` the LAPIC ID `id`; its CPUID says the same.
Vcpu Machine::create_vcpu(unsigned id)
{
    Vcpu v = vm.create_vcpu(static_cast<int>(id));
    v.set_cpuid(cpuid_for_vcpu(cpuid, id));
    // The registers come with every exit (instruction completion reads and writes
    // them without an ioctl, each of which costs about 6 us on a nested backend).
    v.set_sync_regs(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
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
