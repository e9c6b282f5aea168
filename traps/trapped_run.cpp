#include "traps/trapped_run.hpp"

#include <stdexcept>

#include "common/errors.hpp"
#include "traps/history_writer.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig {

namespace {

// With the rig clock the VM's LAPIC runs at 1 ms per bus cycle, a guest timer period
// of hours: the guest's own timer cannot fire before the rig has taken it over,
// however late the host runs the vCPU.
constexpr uint64_t kRigClockApicBusCycleNs = 1'000'000;

RunOptions with_rig_clock(RunOptions options, const TrapOptions& traps)
{
    if (options.hook)
        throw std::logic_error("a trapped run's hook is its trap engine");
    if (traps.rig_clock_exits)
        options.apic_bus_cycle_ns = kRigClockApicBusCycleNs;
    return options;
}

TrappedResult result_of(RunResult run, const TrapEngine& engine)
{
    return {std::move(run), engine.stats(), engine.backend(), engine.notes(), engine.read_windows()};
}

}  // namespace

TrappedRun::TrappedRun(const BootImage& image, TrapOptions options, std::string_view use)
    : image_(require_elf64(image, use)), options_(std::move(options))
{
}

TrappedRun::~TrappedRun() = default;

TrappedResult TrappedRun::run(RunOptions options)
{
    options = with_rig_clock(std::move(options), options_);
    std::unique_ptr<HistoryWriter> history;
    if (!history_.path.empty())
        history = std::make_unique<HistoryWriter>(history_.path);
    TrapEngine engine(image_, options_, history.get(), history_.guest);
    options.hook = &engine;
    RunResult run = run_guest(image_, options);
    if (history)
        history->verdict(std::string(name_of(run.verdict.kind)), run.verdict.reason);
    return result_of(std::move(run), engine);  // the history is flushed and closed here
}

TrappedSession::TrappedSession(const BootImage& image, TrapOptions options, RunOptions run_options)
    : timeout_(run_options.timeout)
{
    const ElfImage& elf = require_elf64(image, "a trapped session");
    options.pause_at_first_read = true;
    session_ = std::make_unique<GuestSession>(elf, with_rig_clock(std::move(run_options), options));
    base_ = std::make_unique<TrapEngine>(elf, std::move(options));
    RunResult boot = session_->run(base_.get(), timeout_);
    has_reads_ = boot.paused;
    if (has_reads_)
        session_->take_snapshot();
}

TrappedSession::~TrappedSession() = default;

TrappedResult TrappedSession::run(const InjectionPolicy& policy, unsigned measure_windows)
{
    if (!has_reads_)
        throw std::logic_error("TrappedSession::run without a snapshot: the guest has no CR3 read");
    TrapEngine engine = *base_;
    engine.set_policy(policy);
    engine.set_measure_windows(measure_windows);
    auto start = std::chrono::steady_clock::now();
    session_->restore_snapshot();
    last_restore_ = std::chrono::steady_clock::now() - start;
    RunResult run = session_->run(&engine, timeout_);
    return result_of(std::move(run), engine);
}

}  // namespace cr3rig
