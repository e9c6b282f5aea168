#include "vmm/runner.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/errors.hpp"
#include "vmm/boot_timeout.hpp"
#include "vmm/compose_verdict.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/kvm.hpp"
#include "vmm/machine.hpp"
#include "vmm/register_dump.hpp"
#include "vmm/run_hook.hpp"
#include "vmm/vcpu_threads.hpp"
#include "vmm/watchdog.hpp"

namespace cr3rig {

namespace {

using Clock = std::chrono::steady_clock;

std::string crash_dump(const Vcpu& vcpu, const BootImage& image)
{
    try {
        return format_registers(vcpu.get_regs(), vcpu.get_sregs(), &image);
    } catch (const KvmError& e) {
        return std::string("(registers unavailable: ") + e.what() + ")";
    }
}

// The trap engine and the snapshots work on one vCPU.
void require_one_vcpu(const Machine& m, const char* what)
{
    if (m.vcpu_count() != 1)
        throw BadInput(std::string(what) + " needs exactly one vCPU; this machine has " +
                       std::to_string(m.vcpu_count()));
}

}  // namespace

// The MSRs a snapshot keeps, those of them KVM can save: the ones a guest kernel
// programs and that are in neither the special registers (EFER, FS/GS base, APIC
// base) nor the LAPIC state (the x2APIC registers).
constexpr uint32_t kSnapshotMsrs[] = {
    0x10,        // IA32_TSC: the guest's time stamp counter goes back with it
    0x3b,        // IA32_TSC_ADJUST
    0x174,       // SYSENTER_CS
    0x175,       // SYSENTER_ESP
    0x176,       // SYSENTER_EIP
    0x1a0,       // IA32_MISC_ENABLE
    0x277,       // IA32_PAT
    0x6e0,       // IA32_TSC_DEADLINE
    0xc0000081,  // STAR
    0xc0000082,  // LSTAR
    0xc0000083,  // CSTAR
    0xc0000084,  // SFMASK
    0xc0000102,  // KERNEL_GS_BASE
    0xc0000103,  // TSC_AUX
};

std::vector<kvm_msr_entry> save_msrs(const Kvm& kvm, const Vcpu& vcpu)
{
    std::vector<uint32_t> known = kvm.msr_index_list();
    std::vector<kvm_msr_entry> out;
    for (uint32_t index : kSnapshotMsrs) {
        if (std::find(known.begin(), known.end(), index) == known.end())
            continue;
        auto read = vcpu.get_msrs({index});  // one at a time: a refusal ends a batch
        out.insert(out.end(), read.begin(), read.end());
    }
    return out;
}

// The state a snapshot keeps: guest memory, the vCPU, the in-kernel irqchip and
// clock, and the host side (each device's state, counters, the partial result).
struct SavedState {
    std::vector<uint8_t> memory;
    kvm_regs regs;
    kvm_sregs sregs;
    kvm_fpu fpu;
    kvm_lapic_state lapic;
    kvm_vcpu_events events;
    kvm_debugregs debugregs;  // the guest's own DR0-7 (the rig's breakpoints live apart)
    std::vector<kvm_msr_entry> msrs;
    uint32_t mp_state;
    kvm_irqchip pic_master, pic_slave, ioapic;
    kvm_clock_data clock;
    DeviceStates devices;  // parallel to Machine::devices
    PortBus::Unclaimed unclaimed;
    RunResult result;
};

struct GuestSession::Impl {
    Impl(const BootImage& image, const RunOptions& options) : image(image), options(options), m(image, this->options, result) {}

    const BootImage& image;
    RunOptions options;
    RunResult result;
    Machine m;
    std::unique_ptr<SavedState> saved;
    uint64_t pages_restored = 0;

    // The run has ended: the counters, a crash's registers (of the vCPU that crashed),
    // and the one verdict.
    RunResult finish(Stop stop, unsigned vcpu, std::vector<Finding> findings)
    {
        if (stop.kind == VerdictKind::Crash)
            result.crash_dump = (m.vcpu_count() > 1 ? "vCPU " + std::to_string(vcpu) + ":\n" : std::string()) +
                                crash_dump(m.vcpu_of(vcpu), image);
        result.bad_rig_messages = m.rig.bad_messages();
        result.dropped_rig_messages = m.rig.dropped();
        result.unclaimed_port_accesses = m.bus.unclaimed().ports;
        result.unclaimed_mmio_accesses = m.bus.unclaimed().mmio;
        result.unclaimed = m.bus.unclaimed();
        result.verdict = compose_verdict(std::move(stop), std::move(findings));
        return result;
    }
};

GuestSession::GuestSession(const BootImage& image, const RunOptions& options)
    : impl_(std::make_unique<Impl>(image, options))
{
    if (options.hook)
        require_one_vcpu(impl_->m, "a run hook (the trap engine)");
}

GuestSession::~GuestSession() = default;

RunResult GuestSession::run(RunHook* hook, std::chrono::milliseconds timeout)
{
    Machine& m = impl_->m;
    if (m.vcpu_count() > 1) {
        if (hook)
            require_one_vcpu(m, "a run hook (the trap engine)");
        return run_vcpus(timeout);
    }
    RunResult& result = impl_->result;
    kvm_run& run = m.vcpu.run_state();
    RunContext ctx{m.vm, m.vcpu, m.memory, m.ram, impl_->image};
    if (hook)
        hook->start(ctx);

    auto start = Clock::now();
    BootTimeout boot(start, timeout, impl_->options.boot_timeout);
    Stop stop{VerdictKind::Crash, "", std::nullopt};
    bool paused = false;
    {
        Watchdog watchdog(run, boot.first_deadline(), hook ? hook->poke_interval() : std::chrono::microseconds::zero());
        for (;;) {
            int rc;
            try {
                rc = m.vcpu.run();
            } catch (const KvmError& e) {
                stop = {VerdictKind::Crash, std::string("host error: ") + e.what(), std::nullopt};
                break;
            }
            VmExit exit = decode_exit(run, m.vcpu.run_state_size(), rc);
            result.stats.count(exit);
            bool deadline_passed = watchdog.fired() || Clock::now() >= watchdog.deadline();
            HookAction answer = hook ? hook->on_exit(ctx, exit) : HookAction::proceed();
            if (answer.kind() == HookAction::Kind::Pause) {
                paused = true;
                break;
            }
            ExitAction action;
            if (answer.kind() == HookAction::Kind::Stop)
                action = answer.stop();
            else if (answer.kind() == HookAction::Kind::Continue && is_emulation_failure(exit))
                action = m.completion.complete(m.vcpu, result.completions);
            else if (answer.kind() == HookAction::Kind::Continue)
                action = dispatch(exit, m.bus, deadline_passed);
            if (!action)  // a device asked the machine to sleep (ACPI S3)
                action = m.platform.after_exit(m.vcpu, watchdog.deadline());
            if (action) {
                stop = std::move(*action);
                break;
            }
            boot.after_exit(result, watchdog);
            // A guest that exits often never sees EINTR; stop it here.
            if (watchdog.fired() || Clock::now() >= watchdog.deadline()) {
                stop = {VerdictKind::Timeout, "deadline reached", std::nullopt};
                break;
            }
        }
    }
    stop = boot.explain(std::move(stop));
    result.run_time = Clock::now() - start;
    result.paused = paused;
    if (paused)
        return result;  // the run can go on, or be saved: no verdict yet
    std::vector<Finding> findings;
    if (hook)
        findings = hook->finish(ctx, stop);
    return impl_->finish(std::move(stop), 0, std::move(findings));
}

// More than one vCPU: a thread each (vmm/vcpu_threads.cpp), no hook.
RunResult GuestSession::run_vcpus(std::chrono::milliseconds timeout)
{
    auto start = Clock::now();
    BootTimeout boot(start, timeout, impl_->options.boot_timeout);
    VcpuThreadsEnd end = run_vcpu_threads(impl_->m, impl_->result, boot);
    impl_->result.run_time = Clock::now() - start;
    impl_->result.paused = false;
    return impl_->finish(std::move(end.stop), end.vcpu, {});
}

void GuestSession::take_snapshot()
{
    Machine& m = impl_->m;
    require_one_vcpu(m, "a snapshot");
    // The state of the last exit as the hook left it: registers it changed through the
    // synced copy, an I/O it stopped at, both done (no guest instruction runs).
    m.vcpu.complete_pending_io();
    auto s = std::make_unique<SavedState>(SavedState{
        {}, m.vcpu.get_regs(), m.vcpu.get_sregs(), m.vcpu.get_fpu(), m.vcpu.get_lapic(), m.vcpu.get_vcpu_events(),
        m.vcpu.get_debugregs(), save_msrs(m.kvm, m.vcpu), m.vcpu.mp_state(), m.vm.get_irqchip(KVM_IRQCHIP_PIC_MASTER), m.vm.get_irqchip(KVM_IRQCHIP_PIC_SLAVE),
        m.vm.get_irqchip(KVM_IRQCHIP_IOAPIC), m.vm.get_clock(), m.save_devices(), m.bus.unclaimed(),
        impl_->result});
    auto bytes = m.memory.span(0, m.memory.size());
    s->memory.assign(bytes.begin(), bytes.end());
    // From here on KVM logs the pages the guest writes; a restore copies back only those.
    m.ram.log_dirty();
    impl_->saved = std::move(s);
}

void GuestSession::restore_snapshot()
{
    Machine& m = impl_->m;
    // Whatever debug state the last run left (a single step in flight, breakpoints)
    // must not take part in setting the registers back; the hook arms its own again.
    m.vcpu.set_guest_debug(kvm_guest_debug{});
    const SavedState& s = *impl_->saved;
    uint64_t pages = m.memory.size() / 4096;
    auto dirty = m.ram.take_dirty_pages();
    auto mem = m.memory.span(0, m.memory.size());
    impl_->pages_restored = 0;
    for (uint64_t p = 0; p < pages; p++) {
        // Read-only pages are written only by the host (a hook's patched code, a guest
        // write the hook performed for it), which dirty logging does not see: always back.
        if ((dirty[p / 64] & (1ull << (p % 64))) || m.ram.read_only(p * 4096)) {
            std::memcpy(mem.data() + p * 4096, s.memory.data() + p * 4096, 4096);
            impl_->pages_restored++;
        }
    }
    // KVM's shadow page tables (the nested backend shadows the guest's) do not see
    // writes made through this mapping: drop them all by re-creating the memory slots.
    m.ram.remap();
    kvm_run& run = m.vcpu.run_state();
    run.kvm_dirty_regs = 0;  // synced registers of the last run must not be written back over these
    run.immediate_exit = 0;
    m.vcpu.set_sregs(s.sregs);
    m.vcpu.set_regs(s.regs);
    m.vcpu.set_fpu(s.fpu);
    m.vcpu.set_lapic(s.lapic);
    m.vcpu.set_vcpu_events(s.events);
    m.vcpu.set_debugregs(s.debugregs);
    m.vcpu.set_msrs(s.msrs);
    m.vcpu.set_mp_state(s.mp_state);
    m.vm.set_irqchip(s.pic_master);
    m.vm.set_irqchip(s.pic_slave);
    m.vm.set_irqchip(s.ioapic);
    m.vm.set_clock(s.clock);
    m.restore_devices(s.devices);
    m.bus.set_unclaimed(s.unclaimed);
    impl_->result = s.result;
}

bool GuestSession::has_snapshot() const { return impl_->saved != nullptr; }

uint64_t GuestSession::pages_restored() const { return impl_->pages_restored; }

RunResult run_guest(const BootImage& image, const RunOptions& options)
{
    GuestSession session(image, options);
    return session.run(options.hook, options.timeout);
}

}  // namespace cr3rig
