#include "runner.hpp"

#include "cr3rig/abi.h"
#include "devices/debug_exit.hpp"
#include "devices/rig_port.hpp"
#include "devices/uart.hpp"
#include "elf_loader.hpp"
#include "errors.hpp"
#include "guest_memory.hpp"
#include "kvm.hpp"
#include "long_mode.hpp"
#include "register_dump.hpp"
#include "run_hook.hpp"
#include "watchdog.hpp"

namespace cr3rig {

namespace {

using Clock = std::chrono::steady_clock;

// The TSS KVM needs on Intel hosts for real-mode emulation: three pages just below
// the BIOS area at 4 GiB, far above any guest RAM the rig hands out.
constexpr uint64_t kKvmTssGpa = 0xfffbd000;

// CR3RIG_BENCH_PORT: does nothing but count, so one write costs one bare exit.
class BenchPort : public PortDevice {
public:
    ExitAction io(const IoAccess&) override
    {
        auto now = Clock::now();
        if (hits_++ == 0)
            first_ = now;
        last_ = now;
        return std::nullopt;
    }
    uint64_t hits() const { return hits_; }
    std::chrono::nanoseconds window() const { return last_ - first_; }

private:
    uint64_t hits_ = 0;
    Clock::time_point first_{}, last_{};
};

// The VM the guest runs in: KVM objects, memory and devices, wired together.
struct Machine {
    Machine(const ElfImage& image, const RunOptions& options, RunResult& result)
        : kvm(open_kvm()),
          vm(kvm.create_vm()),
          memory(options.memory_bytes),
          uart(CR3RIG_UART_PORT,
               [&result, &options](char c) {
                   result.console += c;
                   if (options.on_console)
                       options.on_console(c);
               }),
          rig(memory, {options.on_log, options.on_trace, options.on_bad_message}),
          vcpu(create_vcpu())
    {
        image.load_into(memory, CR3RIG_GUEST_LOAD_MIN);
        enter_long_mode(memory, vcpu, image.entry());
        bus.attach(CR3RIG_UART_PORT, CR3RIG_UART_LEN, uart);
        bus.attach(CR3RIG_DEBUG_EXIT_PORT, CR3RIG_DEBUG_EXIT_LEN, debug_exit);
        bus.attach(CR3RIG_RIG_PORT, CR3RIG_RIG_LEN, rig);
        bus.attach(CR3RIG_BENCH_PORT, CR3RIG_BENCH_LEN, bench);
    }

    static Kvm open_kvm()
    {
        Kvm k;
        k.require_capabilities();
        return k;
    }

    Vcpu create_vcpu()
    {
        vm.set_user_memory_region(0, 0, memory.size(), memory.host_base());
        vm.create_irqchip();  // must precede vCPU creation: gives the vCPU its LAPIC
        vm.set_tss_addr(kKvmTssGpa);
        Vcpu v = vm.create_vcpu(0);
        v.set_cpuid(kvm.supported_cpuid());
        return v;
    }

    Kvm kvm;
    Vm vm;
    GuestMemory memory;
    Uart uart;
    DebugExit debug_exit;
    RigPort rig;
    BenchPort bench;
    Vcpu vcpu;
    PortBus bus;
};

std::string crash_dump(const Vcpu& vcpu, const ElfImage& image)
{
    try {
        return format_registers(vcpu.get_regs(), vcpu.get_sregs(), &image);
    } catch (const KvmError& e) {
        return std::string("(registers unavailable: ") + e.what() + ")";
    }
}

}  // namespace

RunResult run_guest(const ElfImage& image, const RunOptions& options)
{
    RunResult result;
    Machine m(image, options, result);
    kvm_run& run = m.vcpu.run_state();

    RunContext ctx{m.vm, m.vcpu, m.memory, image};
    if (options.hook)
        options.hook->start(ctx);

    auto start = Clock::now();
    Stop stop{Verdict::Crash, "", std::nullopt};
    {
        Watchdog watchdog(run, start + options.timeout,
                          options.hook ? options.hook->poke_interval() : std::chrono::microseconds::zero());
        for (;;) {
            int rc;
            try {
                rc = m.vcpu.run();
            } catch (const KvmError& e) {
                stop = {Verdict::Crash, std::string("host error: ") + e.what(), std::nullopt};
                break;
            }
            VmExit exit = decode_exit(run, m.vcpu.run_state_size(), rc);
            result.stats.count(exit);
            bool deadline_passed = watchdog.fired() || Clock::now() >= watchdog.deadline();
            bool consumed = false;
            ExitAction action;
            if (options.hook)
                action = options.hook->on_exit(ctx, exit, consumed);
            if (!action && !consumed)
                action = dispatch(exit, m.bus, deadline_passed);
            if (action) {
                stop = std::move(*action);
                break;
            }
            if (deadline_passed) {  // a guest that exits often never sees EINTR; stop it here
                stop = {Verdict::Timeout, "deadline reached", std::nullopt};
                break;
            }
        }
    }
    result.run_time = Clock::now() - start;
    result.verdict = stop.verdict;
    result.reason = std::move(stop.reason);
    result.guest_status = stop.guest_status;
    if (result.verdict == Verdict::Crash)
        result.crash_dump = crash_dump(m.vcpu, image);
    result.bad_rig_messages = m.rig.bad_messages();
    result.unclaimed_port_accesses = m.bus.unclaimed_accesses();
    result.bench_port_hits = m.bench.hits();
    result.bench_port_window = m.bench.window();
    if (options.hook)
        options.hook->finish(ctx, result);
    return result;
}

}  // namespace cr3rig
