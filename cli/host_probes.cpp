#include "cli/host_probes.hpp"

#include <linux/kvm.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/guest_source.hpp"
#include "common/errors.hpp"
#include "common/hex.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/kvm.hpp"
#include "vmm/run_hook.hpp"
#include "vmm/runner.hpp"

namespace cr3rig::cli {

namespace {

// Not in Debian bookworm's <linux/kvm.h> (Linux 6.1); the capability came with 6.11.
constexpr long kCapApicBusCyclesNs = 237;
constexpr uint64_t kDr6SingleStep = 1ull << 14;
constexpr uint32_t kBreakpointVector = 3;

std::string read_text(const char* path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool has_word(const std::string& text, const std::string& word)
{
    std::istringstream in(text);
    for (std::string w; in >> w;)
        if (w == word)
            return true;
    return false;
}

// Stops the doctor-probe guest at the breakpoint its mode arms, or after a few
// single steps, and says what it saw.
class Probe : public RunHook {
public:
    enum class Mode { HardwareBreakpoint, SingleStep, SoftwareBreakpoint };

    Probe(Mode mode, uint64_t target) : mode_(mode), target_(target) {}

    void start(RunContext& ctx) override
    {
        kvm_guest_debug dbg{};
        dbg.control = KVM_GUESTDBG_ENABLE;
        switch (mode_) {
        case Mode::HardwareBreakpoint:
            dbg.control |= KVM_GUESTDBG_USE_HW_BP;
            dbg.arch.debugreg[0] = target_;
            dbg.arch.debugreg[7] = 0x1;  // L0: execute breakpoint at DR0
            break;
        case Mode::SingleStep: dbg.control |= KVM_GUESTDBG_SINGLESTEP; break;
        case Mode::SoftwareBreakpoint:
            dbg.control |= KVM_GUESTDBG_USE_SW_BP;
            ctx.memory.write<uint8_t>(target_, 0xcc);  // int3; the guest runs identity-mapped
            break;
        }
        ctx.vcpu.set_guest_debug(dbg);
    }

    HookAction on_exit(RunContext& ctx, const VmExit& exit) override
    {
        if (exit.kind != ExitKind::Debug)
            return HookAction::proceed();
        const kvm_debug_exit_arch& d = ctx.vcpu.run_state().debug.arch;
        seen_ = "debug exit at " + hex(d.pc) + ", exception " + std::to_string(d.exception) + ", dr6 " + hex(d.dr6);
        switch (mode_) {
        case Mode::HardwareBreakpoint: hit_ = d.pc == target_ && (d.dr6 & 1); break;
        case Mode::SoftwareBreakpoint: hit_ = d.pc == target_ && d.exception == kBreakpointVector; break;
        case Mode::SingleStep:
            if (!(d.dr6 & kDr6SingleStep))
                break;
            if (++steps_ < 3)
                return HookAction::consumed();  // three steps in a row make the point
            hit_ = true;
            seen_ = "3 single-step exits, the last at " + hex(d.pc);
            break;
        }
        return HookAction::end({VerdictKind::Pass, "probe done", std::nullopt});
    }

    std::vector<Finding> finish(RunContext&, const Stop&) override { return {}; }

    bool hit() const { return hit_; }
    const std::string& seen() const { return seen_; }

private:
    Mode mode_;
    uint64_t target_;
    bool hit_ = false;
    unsigned steps_ = 0;
    std::string seen_;
};

ProbeResult probe(const ElfImage& image, const char* name, Probe::Mode mode, const char* symbol)
{
    ProbeResult r{name, false, ""};
    const Symbol* target = symbol ? image.find_symbol(symbol) : nullptr;
    Probe hook(mode, target ? target->value : 0);
    RunOptions options;
    options.timeout = std::chrono::seconds(5);
    options.hook = &hook;
    try {
        RunResult run = run_guest(image, options);
        r.ok = hook.hit();
        r.detail = !hook.seen().empty() ? hook.seen() : std::string(name_of(run.verdict.kind)) + ": " + run.verdict.reason;
        if (!r.ok && !hook.seen().empty())
            r.detail += " (not the expected one)";
        if (!r.ok && hook.seen().empty())
            r.detail = "no debug exit; the run ended " + r.detail;
    } catch (const std::exception& e) {
        r.detail = e.what();
    }
    return r;
}

}  // namespace

Backend detect_backend()
{
    std::string cpuinfo = read_text("/proc/cpuinfo");
    // /sys/module lists built-in and loaded modules alike; /proc/modules may be absent
    // in a container.
    std::string modules = read_text("/proc/modules");
    auto loaded = [&](const char* m) {
        std::error_code ec;
        return std::filesystem::exists(std::string("/sys/module/") + m, ec) ||
               modules.find(std::string(m) + " ") != std::string::npos;
    };
    Backend b;
    b.nested = has_word(cpuinfo, "hypervisor");
    if (loaded("kvm_pvm"))
        b.name = "PVM (kvm_pvm), a software nested hypervisor: guest CPL0 code is emulated";
    else if (loaded("kvm_intel"))
        b.name = "Intel VT-x (kvm_intel)";
    else if (loaded("kvm_amd"))
        b.name = "AMD SVM (kvm_amd)";
    else
        b.name = "unknown (none of kvm_intel, kvm_amd, kvm_pvm in /sys/module)";
    b.detail = std::string("CPU flags: vmx ") + (has_word(cpuinfo, "vmx") ? "yes" : "no") + ", svm " +
               (has_word(cpuinfo, "svm") ? "yes" : "no") + ", hypervisor " + (b.nested ? "yes" : "no");
    return b;
}

std::vector<CapabilityCheck> check_capabilities()
{
    std::vector<CapabilityCheck> caps{
        {"KVM_CAP_USER_MEMORY", KVM_CAP_USER_MEMORY, "guest RAM", true},
        {"KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP, "in-kernel LAPIC, the guest's timer", true},
        {"KVM_CAP_EXT_CPUID", KVM_CAP_EXT_CPUID, "CPUID for the guest", true},
        {"KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT, "the watchdog's deadline", true},
        {"KVM_CAP_SET_GUEST_DEBUG", KVM_CAP_SET_GUEST_DEBUG, "CR3 traps: breakpoints, single-step", false},
        {"KVM_CAP_SET_GUEST_DEBUG2", KVM_CAP_SET_GUEST_DEBUG2, "which guest-debug flags exist", false},
        {"KVM_CAP_SYNC_REGS", KVM_CAP_SYNC_REGS, "cheap register access in traps", false},
        {"KVM_CAP_SIGNAL_MSI", KVM_CAP_SIGNAL_MSI, "forced preemptions, the rig clock", false},
        {"KVM_CAP_DEBUGREGS", KVM_CAP_DEBUGREGS, "snapshots (the guest's DR0-7)", false},
        {"KVM_CAP_VCPU_EVENTS", KVM_CAP_VCPU_EVENTS, "snapshots (pending events)", false},
        {"KVM_CAP_MP_STATE", KVM_CAP_MP_STATE, "snapshots, the rig clock's halt check", false},
        {"KVM_CAP_ADJUST_CLOCK", KVM_CAP_ADJUST_CLOCK, "snapshots (kvmclock)", false},
        {"KVM_CAP_X86_APIC_BUS_CYCLES_NS", kCapApicBusCyclesNs, "the rig clock (--rig-clock, campaigns)", false},
    };
    Kvm kvm;
    Vm vm = kvm.create_vm();
    for (auto& c : caps)
        c.value = c.number == kCapApicBusCyclesNs ? vm.check_extension(c.number) : kvm.check_extension(c.number);
    return caps;
}

std::vector<ProbeResult> run_guest_probes()
{
    auto loaded = load_guest("builtin:doctor-probe");
    const ElfImage& image = require_elf64(*loaded, "the doctor's probes");
    std::vector<ProbeResult> out;
    try {
        RunOptions options;
        options.timeout = std::chrono::seconds(5);
        RunResult run = run_guest(image, options);
        out.push_back({"run a guest to a verdict", run.verdict.passed(),
                       std::string(name_of(run.verdict.kind)) + ": " + run.verdict.reason});
    } catch (const std::exception& e) {
        out.push_back({"run a guest to a verdict", false, e.what()});
    }
    out.push_back(probe(image, "hardware breakpoints", Probe::Mode::HardwareBreakpoint, "probe_hw_breakpoint"));
    out.push_back(probe(image, "single-step", Probe::Mode::SingleStep, nullptr));
    out.push_back(probe(image, "software breakpoints (int3)", Probe::Mode::SoftwareBreakpoint, "probe_sw_breakpoint"));
    return out;
}

CompletionProbe probe_completion()
{
    CompletionProbe p;
    try {
        auto loaded = load_guest("builtin:cpl0-instructions");
        const ElfImage& image = require_elf64(*loaded, "the completion probe");
        RunOptions options;
        options.timeout = std::chrono::seconds(10);
        RunResult run = run_guest(image, options);
        p.ran = true;
        p.completed = run.completions.by_name;
        p.detail = std::string(name_of(run.verdict.kind)) + ": " + run.verdict.reason;
        std::istringstream lines(run.console);
        for (std::string line; std::getline(lines, line);)
            if (line.rfind("FAIL: ", 0) == 0)
                p.failed.push_back(line.substr(6));
    } catch (const std::exception& e) {
        p.detail = e.what();
    }
    return p;
}

}  // namespace cr3rig::cli
