// A trapped run, with one owner: the guest image checked once (the trap engine needs
// ELF64), the trap engine, the CR3 history file, and the coupling between the rig
// clock and the VM's LAPIC. `cr3rig run`, campaigns, `replay`, the bench and the
// tests all run trapped guests through this; nothing outside traps/ builds an engine.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "traps/trap_engine.hpp"
#include "vmm/runner.hpp"

namespace cr3rig {

class BootImage;
class ElfImage;

// Where the CR3 history goes: a JSON Lines file (docs/trace-format.md), with `guest`
// in its header. An empty path: no history.
struct HistoryFile {
    std::string path;
    std::string guest;
};

// What a trapped run gives back besides the run's own result (whose verdict holds
// the findings).
struct TrappedResult {
    RunResult run;
    TrapStats stats;
    std::string backend;  // "hardware breakpoints: 1 read, ..." (TrapEngine::backend)
    std::vector<std::string> notes;
    std::vector<unsigned> read_windows;  // with TrapOptions::measure_windows
};

class TrappedRun {
public:
    // Throws BadInput if the image is not ELF64; `use` names what asked for traps
    // ("--inject ..."). The image must outlive this.
    TrappedRun(const BootImage& image, TrapOptions options, std::string_view use = "the trap engine");
    ~TrappedRun();
    TrappedRun(const TrappedRun&) = delete;
    TrappedRun& operator=(const TrappedRun&) = delete;

    // Write the CR3 history of the next run(); BadInput there if it cannot be written.
    void keep_history(HistoryFile history) { history_ = std::move(history); }

    // Runs the guest once to a verdict. `options.hook` must be empty (the engine is the
    // hook); with the rig clock, the LAPIC's bus cycle is set here. The history, if
    // any, ends with the verdict and is closed when this returns.
    TrappedResult run(RunOptions options);

private:
    const ElfImage& image_;
    TrapOptions options_;
    HistoryFile history_;
};

// A trapped VM booted once to the guest's first CR3 read and saved there, with the
// engine as it was: each run() goes back to that point and runs with its own policy
// (campaigns: only the pages the last run dirtied are restored). Every run gives the
// result a fresh TrappedRun with the same options would give.
class TrappedSession {
public:
    TrappedSession(const BootImage& image, TrapOptions options, RunOptions run_options);
    ~TrappedSession();

    bool has_reads() const { return has_reads_; }  // no CR3 read at all: nothing saved
    TrappedResult run(const InjectionPolicy& policy, unsigned measure_windows);
    std::chrono::nanoseconds last_restore_time() const { return last_restore_; }
    uint64_t last_pages_restored() const { return session_->pages_restored(); }

private:
    std::chrono::milliseconds timeout_;
    std::unique_ptr<GuestSession> session_;
    std::unique_ptr<TrapEngine> base_;  // as it was at the snapshot
    bool has_reads_ = false;
    std::chrono::nanoseconds last_restore_{0};
};

}  // namespace cr3rig
