#include "bench/floor_figures.hpp"

#include <linux/kvm.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "harness/bench_port.hpp"
#include "traps/trapped_run.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/kvm.hpp"
#include "vmm/run_hook.hpp"
#include "vmm/runner.hpp"

namespace cr3rig::bench {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kReads = 2000;

ElfImage guest(const char* name) { return ElfImage::read_file(std::string(CR3RIG_GUEST_DIR "/") + name + ".elf"); }

double ns_since(Clock::time_point start, int count)
{
    return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / count;
}

// Runs pingpong with or without sync regs; at its 1000th bench-port exit, times
// kReads register reads each way.
class RegisterReader : public RunHook {
public:
    explicit RegisterReader(bool sync) : sync_(sync) {}
    void start(RunContext& ctx) override { ctx.vcpu.set_sync_regs(sync_ ? KVM_SYNC_X86_REGS : 0); }
    HookAction on_exit(RunContext& ctx, const VmExit& exit) override
    {
        if (exit.kind != ExitKind::Io || ++exits_ != 1000)
            return HookAction::proceed();
        uint64_t sink = 0;
        auto start = Clock::now();
        for (int i = 0; i < kReads; i++)
            sink += ctx.vcpu.get_regs().rip;
        get_regs_ns = ns_since(start, kReads);
        start = Clock::now();
        for (int i = 0; i < kReads; i++)
            sink += reinterpret_cast<const volatile kvm_regs&>(ctx.vcpu.synced_regs()).rip;
        synced_ns = ns_since(start, kReads);
        sink_ = sink;
        return HookAction::proceed();
    }
    std::vector<Finding> finish(RunContext&, const Stop&) override { return {}; }

    double get_regs_ns = 0, synced_ns = 0;

private:
    bool sync_;
    uint64_t exits_ = 0;
    uint64_t sink_ = 0;
};

// Runs pingpong with the bench port attached: ns per port-I/O round trip.
double roundtrip_ns(const ElfImage& pingpong, RunOptions options)
{
    testing::BenchPort bench;
    options.extra_devices = {&bench};
    RunResult r = run_guest(pingpong, options);
    if (!r.verdict.passed() || bench.hits() < 2)
        throw std::runtime_error("pingpong did not pass: " + r.verdict.reason);
    return bench.roundtrip_ns();
}

}  // namespace

RegisterReadSamples register_read_samples(int runs)
{
    ElfImage pingpong = guest("pingpong");
    RegisterReadSamples s;
    for (int i = 0; i < runs; i++) {
        RegisterReader with(true), without(false);
        RunOptions options;
        options.hook = &with;
        double rt_with = roundtrip_ns(pingpong, options);
        options.hook = &without;
        double rt_without = roundtrip_ns(pingpong, options);
        s.get_regs_ns.push_back(without.get_regs_ns);
        s.synced_read_ns.push_back(with.synced_ns);
        s.sync_per_exit_ns.push_back(rt_with - rt_without);
    }
    return s;
}

std::vector<double> vm_create_destroy_samples(int runs)
{
    ElfImage hello = guest("hello");
    std::vector<double> samples;
    for (int i = 0; i < runs; i++) {
        auto start = Clock::now();
        { GuestSession session(hello, RunOptions{}); }
        samples.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    return samples;
}

std::vector<double> injection_samples(int runs)
{
    ElfImage kernel = guest("lazytlb-fixed");
    std::vector<double> samples;
    for (int i = 0; i < runs; i++) {
        TrapOptions trap_options;
        trap_options.policy = InjectionPolicy::parse("after-read");
        TrappedResult r = TrappedRun(kernel, std::move(trap_options)).run(RunOptions{});
        if (!r.run.verdict.passed() || r.stats.injections == 0)
            throw std::runtime_error("lazytlb-fixed under after-read did not pass with injections: " +
                                     r.run.verdict.reason);
        samples.push_back(static_cast<double>(r.stats.injection_host_ns) / static_cast<double>(r.stats.injections));
    }
    return samples;
}

CompletionSamples completion_samples(int runs)
{
    ElfImage loop = guest("complete-loop");
    CompletionSamples s;
    for (int i = 0; i < runs; i++) {
        testing::BenchPort bench;
        RunOptions options;
        options.extra_devices = {&bench};
        RunResult r = run_guest(loop, options);
        if (r.verdict.kind == VerdictKind::Skip) {
            s.skipped = true;
            return s;
        }
        if (!r.verdict.passed() || bench.hits() != 2)
            throw std::runtime_error("complete-loop did not pass: " + r.verdict.reason);
        s.per_instruction_ns.push_back(std::chrono::duration<double, std::nano>(bench.window()).count() / kCompleteLoopRounds);
        s.completions_per_run = r.completions.total();
    }
    return s;
}

}  // namespace cr3rig::bench
