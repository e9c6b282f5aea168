// The lazytlb kernel built as a non-paravirt Linux 3.2 (LAZYTLB_INLINE): CR3 reads and
// writes inlined at every caller, more sites than debug registers. Judged by the
// guest's own summary lines and by the trap engine's findings, on the rig clock (the
// default), so that where ticks land depends on the guest alone, never on host load.
// Its 19 CR3 sites are patched traps, one exit per access (single steps took hours).
#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>

#include "traps/trapped_run.hpp"
#include "vmm/elf_loader.hpp"
#include "tests/support/lazytlb_summary.hpp"
#include "vmm/runner.hpp"

using namespace cr3rig;

namespace {

constexpr uint64_t kChurnRounds = 4;        // MM_CHURN_ROUNDS in guest/kernel/main.c
constexpr uint64_t kSyscallsPerRound = 7;   // prog_mm_churn: mmap x2, mprotect x2, mremap, madvise, munmap
constexpr uint64_t kFlushesPerRound = 6;    // all but the first mmap flush
constexpr uint64_t kBootAndExitFlushes = 4; // __flush_tlb_all at boot, exit_mmap of A, B and C

struct InlineRun {
    TrappedResult trapped;

    uint64_t task(const std::string& name, const std::string& key) const
    {
        return testing::task_number(trapped.run.console, name, key);
    }
    uint64_t global(const std::string& key) const { return testing::kernel_number(trapped.run.console, key); }
    const std::vector<Finding>& findings() const { return trapped.run.verdict.findings; }
    bool has(FindingKind kind) const
    {
        return std::any_of(findings().begin(), findings().end(), [&](const Finding& f) { return f.kind == kind; });
    }
};

InlineRun run_inline(const std::string& variant, const std::string& policy)
{
    TrapOptions trap_options;
    trap_options.policy = InjectionPolicy::parse(policy);
    ElfImage image = ElfImage::read_file(std::string(CR3RIG_GUEST_DIR "/lazytlb-inline-") + variant + ".elf");
    RunOptions options;
    options.timeout = std::chrono::seconds(60);  // as test_lazytlb.cpp: a deadline, not a timing
    InlineRun r{TrappedRun(image, std::move(trap_options)).run(options)};
    INFO(r.trapped.run.console);
    return r;
}

// Every task did its work, the mapping system calls all succeeded and flushed, and
// every page came back.
void check_clean_run(const InlineRun& k)
{
    INFO(k.trapped.run.console << k.trapped.run.verdict.reason);
    CHECK(k.trapped.run.verdict.kind == VerdictKind::Pass);
    CHECK(k.findings().empty());
    for (const char* name : {"A", "B", "C"}) {
        CHECK(k.task(name, "exit") == 0);
        CHECK(k.task(name, "killed") == 0);
        CHECK(k.task(name, "storms") == 0);
    }
    CHECK(k.global("mm_syscalls") == kChurnRounds * kSyscallsPerRound);
    CHECK(k.global("tlb_flushes") == kBootAndExitFlushes + kChurnRounds * kFlushesPerRound);
    CHECK(k.global("stale_cr3_writes") == 0);
    CHECK(k.global("cr3_mismatch_at_switch") == 0);
    CHECK(k.global("pages_freed_by_exit") == 30);
    CHECK(k.global("pages_leaked") == 0);
    CHECK_THAT(k.trapped.run.console, Catch::Contains("lazytlb: verdict: ok"));
}

bool has_note(const InlineRun& k, const std::string& note)
{
    const auto& notes = k.trapped.notes;
    return std::find(notes.begin(), notes.end(), note) != notes.end();
}

}  // namespace

TEST_CASE("lazytlb-inline-fixed completes cleanly without injection")
{
    InlineRun k = run_inline("fixed", "none");
    CHECK_THAT(k.trapped.run.console, Catch::Contains("lazytlb: inline-fixed kernel, scenario seed"));
    check_clean_run(k);
}

TEST_CASE("lazytlb-inline-buggy completes cleanly without injection")
{
    InlineRun k = run_inline("buggy", "none");
    CHECK_THAT(k.trapped.run.console, Catch::Contains("lazytlb: inline-buggy kernel, scenario seed"));
    check_clean_run(k);
}

TEST_CASE("after-read catches lazytlb-inline-buggy at its inlined exit flush")
{
    InlineRun k = run_inline("buggy", "after-read");
    INFO(k.trapped.run.verdict.reason);
    CHECK(k.trapped.run.verdict.kind == VerdictKind::Fail);
    REQUIRE(!k.findings().empty());
    CHECK(k.findings().front().kind == FindingKind::StaleCr3Write);
    CHECK(k.has(FindingKind::Cr3NotActiveMm));
    CHECK(k.has(FindingKind::FaultLivelock));
    // Every inlined read was preempted, the mapping calls' too: only the exit's went wrong.
    // All but the boot flush's, which comes before the kernel has a timer to preempt with.
    CHECK(k.trapped.stats.injections == k.trapped.stats.reads - 1);
    CHECK(has_note(k, "LAPIC timer vector 0 is not set up: no injection"));
    CHECK(k.trapped.stats.reads >= kBootAndExitFlushes);
}

TEST_CASE("after-read leaves lazytlb-inline-fixed clean at every inlined site")
{
    InlineRun k = run_inline("fixed", "after-read");
    check_clean_run(k);
    CHECK(k.trapped.stats.reads == kBootAndExitFlushes + kChurnRounds * kFlushesPerRound);
    CHECK(k.trapped.stats.injections == k.trapped.stats.reads - 1);  // not the boot flush's, as above
    CHECK(k.trapped.stats.page_faults == 0);
}
