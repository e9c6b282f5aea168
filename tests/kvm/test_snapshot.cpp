// GuestSession snapshots on real KVM: state the guest changes after the snapshot is
// put back by a restore.
#include <catch2/catch.hpp>
#include <linux/kvm.h>

#include "vmm/elf_loader.hpp"
#include "vmm/kvm.hpp"
#include "vmm/run_hook.hpp"
#include "vmm/runner.hpp"

using namespace cr3rig;

namespace {

// Pauses the run at `address` with a hardware breakpoint, the way the trap engine
// pauses a campaign at its first CR3 read.
class PauseAt : public RunHook {
public:
    explicit PauseAt(uint64_t address) : address_(address) {}
    void start(RunContext& ctx) override
    {
        kvm_guest_debug dbg{};
        dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
        dbg.arch.debugreg[0] = address_;
        dbg.arch.debugreg[7] = 0x1;  // L0: execute breakpoint at DR0
        ctx.vcpu.set_guest_debug(dbg);
    }
    HookAction on_exit(RunContext&, const VmExit& exit) override
    {
        return exit.kind == ExitKind::Debug ? HookAction::pause() : HookAction::proceed();
    }
    std::vector<Finding> finish(RunContext&) override { return {}; }

private:
    uint64_t address_;
};

}  // namespace

TEST_CASE("a snapshot restore puts back the MSRs the guest changed after it")
{
    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/msr-snapshot.elf");
    const auto* point = image.find_symbol("snapshot_point");
    REQUIRE(point != nullptr);
    RunOptions options;
    GuestSession session(image, options);
    PauseAt pause(point->value);
    RunResult boot = session.run(&pause, std::chrono::seconds(30));
    REQUIRE(boot.paused);
    session.take_snapshot();
    for (int run = 1; run <= 3; run++) {
        session.restore_snapshot();  // also clears the pause's breakpoint
        RunResult r = session.run(nullptr, std::chrono::seconds(30));
        INFO("run " << run << ": " << r.verdict.reason << "\n" << r.console);
        CHECK(r.verdict.kind == VerdictKind::Pass);
        CHECK_THAT(r.console, Catch::Contains("KERNEL_GS_BASE after the snapshot: 4369"));
    }
}
