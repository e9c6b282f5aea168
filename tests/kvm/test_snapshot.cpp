// GuestSession snapshots on real KVM: state the guest (or the test) changes after the
// snapshot is put back by a restore.
#include <catch2/catch.hpp>
#include <linux/kvm.h>

#include "vmm/devices/device.hpp"
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
    std::vector<Finding> finish(RunContext&, const Stop&) override { return {}; }

private:
    uint64_t address_;
};

// A device with one value of state on a free port the guest never uses: the test
// changes the value between the snapshot and the restore.
class Register : public Device {
public:
    std::string_view name() const override { return "test register"; }
    Claims claims() const override { return {{{0x4fc, 1}}, {}}; }
    ExitAction io(const IoAccess&) override { return std::nullopt; }
    std::unique_ptr<DeviceState> save() const override { return save_copy(value); }
    void restore(const DeviceState& state) override { value = saved_copy<int>(state); }
    int value = 0;
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

TEST_CASE("a snapshot restore puts back the state of each device, an extra one's too")
{
    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/msr-snapshot.elf");
    const auto* point = image.find_symbol("snapshot_point");
    REQUIRE(point != nullptr);
    Register reg;
    RunOptions options;
    options.extra_devices = {&reg};
    GuestSession session(image, options);
    PauseAt pause(point->value);
    reg.value = 1;
    REQUIRE(session.run(&pause, std::chrono::seconds(30)).paused);
    session.take_snapshot();
    reg.value = 2;
    session.restore_snapshot();
    CHECK(reg.value == 1);
    reg.value = 3;
    RunResult r = session.run(nullptr, std::chrono::seconds(30));
    CHECK(r.verdict.kind == VerdictKind::Pass);
    session.restore_snapshot();
    CHECK(reg.value == 1);
}
