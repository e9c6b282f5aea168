// The lazytlb guest kernel on real KVM, judged by the numbers the guest itself reports
// (its summary lines and tracepoints), never by timing.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>
#include <string>

#include "cr3rig/abi.h"
#include "traps/trapped_run.hpp"
#include "vmm/elf_loader.hpp"
#include "tests/support/lazytlb_summary.hpp"
#include "vmm/runner.hpp"

using namespace cr3rig;

namespace {

constexpr uint64_t kUserBase = 0x8000000000;    // USER_BASE in guest/kernel/kernel.h
constexpr uint64_t kUserUnmapped = 0x8000100000; // USER_UNMAPPED
constexpr uint64_t kFaultStormMin = 8;           // FAULT_STORM_MIN

struct KernelRun {
    RunResult result;
    std::vector<TraceRecord> traces;

    uint64_t task(const std::string& name, const std::string& key) const
    {
        return testing::task_number(result.console, name, key);
    }
    uint64_t global(const std::string& key) const { return testing::kernel_number(result.console, key); }
};

// Under the trap engine without injection, for its rig clock: where the guest's ticks
// land then depends on the guest alone, not on how busy the host is (on host time an
// overloaded host can preempt the exiting task before its flush, and the race the
// selfpreempt kernels stage does not happen).
KernelRun run_kernel(const std::string& variant)
{
    KernelRun k;
    RunOptions options;
    options.timeout = std::chrono::seconds(60);
    options.on_trace = [&](const TraceRecord& t) { k.traces.push_back(t); };
    ElfImage image = ElfImage::read_file(std::string(CR3RIG_GUEST_DIR "/lazytlb-") + variant + ".elf");
    k.result = TrappedRun(image, TrapOptions{}).run(options).run;
    INFO(k.result.console);
    return k;
}

void check_clean_run(const KernelRun& k)
{
    INFO(k.result.console);
    CHECK(k.result.verdict.kind == VerdictKind::Pass);
    for (const char* name : {"A", "B", "C"}) {
        CHECK(k.task(name, "exit") == 0);
        CHECK(k.task(name, "killed") == 0);
        CHECK(k.task(name, "storms") == 0);
    }
    CHECK(k.task("B", "faults") == 0);
    CHECK(k.global("stale_cr3_writes") == 0);
    CHECK(k.global("cr3_mismatch_at_switch") == 0);
    CHECK(k.global("tlb_flushes") >= 1);
    CHECK_THAT(k.result.console, Catch::Contains("lazytlb: verdict: ok"));
}

}  // namespace

TEST_CASE("lazytlb-fixed completes cleanly without injection")
{
    check_clean_run(run_kernel("fixed"));
}

TEST_CASE("lazytlb-buggy completes cleanly without injection (the window is tiny)")
{
    check_clean_run(run_kernel("buggy"));
}

TEST_CASE("lazytlb-selfpreempt shows the stale write, B's fault storm and the recovery")
{
    // The race needs A to reach its flush with its own mm (3 flushes in all).
    KernelRun k = run_kernel("selfpreempt");
    REQUIRE(k.global("tlb_flushes") == 3);
    INFO(k.result.console);
    CHECK(k.result.verdict.kind == VerdictKind::Fail);
    CHECK_THAT(k.result.console, Catch::Contains("lazytlb: verdict: FAILED"));

    // The stale write: A's flush wrote its own, freed, pgd while running on B's mm.
    CHECK(k.global("stale_cr3_writes") == 1);
    bool stale_trace = false;
    for (const auto& t : k.traces)
        if (t.event == CR3RIG_TP_CR3_WRITE && t.args[1] == 2 /* A */ && t.args[0] != t.args[2])
            stale_trace = true;
    CHECK(stale_trace);
    // ... and switch_mm() skipped the reload on the switch to B.
    CHECK(k.global("cr3_mismatch_at_switch") >= 1);

    // B's repeated faults at one address of its own code: handle_mm_fault found the
    // PTE present in B's mm every time, so every fault was retried.
    CHECK(k.task("B", "storms") == 1);
    CHECK(k.task("B", "storm_faults") >= kFaultStormMin);
    CHECK(k.task("B", "spurious_faults") == k.task("B", "faults"));
    uint64_t storm_addr = k.task("B", "storm_addr");
    CHECK(storm_addr >= kUserBase);
    CHECK(storm_addr < kUserBase + 0x1000);
    CHECK(k.task("B", "storm_ticks") >= 1);  // B's lost time

    // The recovery: RT throttling put C (another mm) on the CPU, and B finished.
    CHECK(k.global("rt_throttles") >= 1);
    CHECK(k.task("B", "exit") == 0);
    CHECK(k.task("A", "exit") == 0);
    CHECK(k.task("C", "exit") == 0);
}

TEST_CASE("lazytlb-fixed-selfpreempt: the fix survives the same forced preemption")
{
    KernelRun k = run_kernel("fixed-selfpreempt");
    REQUIRE(k.global("tlb_flushes") == 3);
    check_clean_run(k);
    // The forced tick did preempt the exiting task, only after the write.
    bool a_preempted_after_flush = false;
    for (size_t i = 0; i + 1 < k.traces.size(); i++)
        if (k.traces[i].event == CR3RIG_TP_CR3_WRITE && k.traces[i].args[1] == 2 &&
            k.traces[i + 1].event == CR3RIG_TP_SWITCH_MM)
            a_preempted_after_flush = true;
    CHECK(a_preempted_after_flush);
}

TEST_CASE("the page tables of exited processes are really freed")
{
    KernelRun k = run_kernel("fixed");
    // Three processes of 10 pages each: pgd, PDPT, PD, PT, text, 4 data pages, stack.
    CHECK(k.global("pages_freed_by_exit") == 30);
    CHECK(k.global("pgds_freed") == 3);
    CHECK(k.global("pages_leaked") == 0);
}

TEST_CASE("a user task touching an unmapped address is killed, not looped")
{
    KernelRun k = run_kernel("segv");
    CHECK(k.result.verdict.kind == VerdictKind::Pass);
    CHECK(k.task("D", "killed") == 1);
    CHECK(k.task("D", "exit") == 139);
    CHECK(k.task("D", "faults") == 1);
    CHECK(k.task("D", "killed_addr") == kUserUnmapped);
    CHECK(k.task("C", "exit") == 0);
    CHECK(k.global("pages_leaked") == 0);
}
