#include "vmm/vcpu_threads.hpp"

#include <latch>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.hpp"
#include "vmm/boot_timeout.hpp"
#include "vmm/machine.hpp"
#include "vmm/runner.hpp"
#include "vmm/watchdog.hpp"

namespace cr3rig {

namespace {

using Clock = std::chrono::steady_clock;

// What the vCPU threads share; everything but the watchdog under `mutex`.
struct Shared {
    Machine& m;
    RunResult& result;  // exit and completion counts; the console writes to it too
    BootTimeout& boot;
    std::mutex mutex;
    std::optional<VcpuThreadsEnd> end;  // the first Stop wins
    Watchdog* watchdog = nullptr;       // set before any thread runs (the start latch)
};

// One vCPU's loop until the run ends (its own Stop or another's). Never throws: a host
// error is this vCPU's crash.
void vcpu_loop(Shared& shared, unsigned id)
{
    Vcpu& vcpu = shared.m.vcpu_of(id);
    kvm_run& run = vcpu.run_state();
    {
        std::lock_guard lock(shared.mutex);
        if (shared.end)
            return;  // the run ended before it started (a thread could not be started)
    }
    for (;;) {
        ExitAction action;
        try {
            int rc = vcpu.run();
            VmExit exit = decode_exit(run, vcpu.run_state_size(), rc);
            std::lock_guard lock(shared.mutex);
            shared.result.stats.count(exit);
            if (shared.end)
                return;  // another vCPU ended the run; this exit was a kick (or comes too late)
            bool deadline_passed = shared.watchdog->fired() || Clock::now() >= shared.watchdog->deadline();
            action = is_emulation_failure(exit) ? shared.m.completion.complete(vcpu, shared.result.completions)
                                                : dispatch(exit, shared.m.bus, deadline_passed);
            shared.boot.after_exit(shared.result, *shared.watchdog);
            deadline_passed = shared.watchdog->fired() || Clock::now() >= shared.watchdog->deadline();
            if (!action && shared.m.platform.sleep_requested())  // S3 resets vCPU 0 alone (machine_platform.hpp)
                action = Stop{VerdictKind::Crash, "the guest entered ACPI S3, which cr3rig models for one vCPU only",
                              std::nullopt};
            if (!action && deadline_passed)
                action = Stop{VerdictKind::Timeout, "deadline reached", std::nullopt};
            if (action)
                action = shared.boot.explain(std::move(*action));
        } catch (const std::exception& e) {
            action = Stop{VerdictKind::Crash, std::string("host error: ") + e.what(), std::nullopt};
        }
        if (!action)
            continue;
        std::lock_guard lock(shared.mutex);
        if (!shared.end) {
            if (action->kind == VerdictKind::Crash)
                action->reason = "vCPU " + std::to_string(id) + ": " + action->reason;
            shared.end = VcpuThreadsEnd{std::move(*action), id};
        }
        shared.watchdog->end_now();
        return;
    }
}

}  // namespace

VcpuThreadsEnd run_vcpu_threads(Machine& m, RunResult& result, BootTimeout& boot)
{
    unsigned n = m.vcpu_count();
    Shared shared{m, result, boot, {}, std::nullopt, nullptr};
    std::latch start(1), left(n);
    std::vector<std::thread> threads;
    std::vector<Watchdog::Target> targets;
    threads.reserve(n);
    try {
        for (unsigned id = 0; id < n; id++) {
            threads.emplace_back([&shared, &start, &left, id] {
                start.wait();
                vcpu_loop(shared, id);
                left.count_down();
            });
            targets.push_back({&m.vcpu_of(id).run_state(), threads.back().native_handle()});
        }
    } catch (const std::system_error& e) {  // no thread for some vCPU: the others must not run
        shared.end = VcpuThreadsEnd{{VerdictKind::Crash, "", std::nullopt}, 0};
        left.count_down(static_cast<std::ptrdiff_t>(n - threads.size()));
        start.count_down();
        for (auto& t : threads)
            t.join();
        throw std::runtime_error(std::string("cannot start a thread per vCPU: ") + e.what());
    }
    {
        Watchdog watchdog(std::move(targets), boot.first_deadline());
        shared.watchdog = &watchdog;
        start.count_down();
        // The threads stay joinable until the watchdog, which may still signal them, is gone.
        left.wait();
    }
    for (auto& t : threads)
        t.join();
    return std::move(*shared.end);
}

}  // namespace cr3rig
