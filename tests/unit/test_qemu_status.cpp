// How the QEMU comparison reads QEMU's exit status (harness/qemu.hpp): the
// isa-debug-exit encoding, and a QEMU failure told apart from a passing test.
#include <catch2/catch.hpp>

#include "harness/qemu.hpp"

using namespace cr3rig;
using namespace cr3rig::testing;

TEST_CASE("QEMU's debug-exit status maps to the rig's verdicts")
{
    CHECK(qemu_verdict(1, "PASS: x\n") == VerdictKind::Pass);    // (0 << 1) | 1
    CHECK(qemu_verdict(3, "FAIL: x\n") == VerdictKind::Fail);    // (1 << 1) | 1
    CHECK(qemu_verdict(155, "SKIP: x\n") == VerdictKind::Skip);  // (77 << 1) | 1
    CHECK(qemu_verdict(77, "SKIP: x\n") == VerdictKind::Skip);   // (38 << 1) | 1: kvm-unit-tests' skip
    CHECK(qemu_verdict(1, "qemu-system-x86_64: warning: host doesn't support requested feature\n") ==
          VerdictKind::Pass);
    // Not test results: QEMU quit without the device, failed itself, or was killed.
    CHECK_FALSE(qemu_verdict(0, "").has_value());
    CHECK_FALSE(qemu_verdict(1, "qemu-system-x86_64: -accel kvm: failed to initialize kvm\n").has_value());
    CHECK_FALSE(qemu_verdict(2, "").has_value());
    CHECK_FALSE(qemu_verdict(-1, "").has_value());
}

TEST_CASE("the QEMU command is kvm-unit-tests' for a multiboot image")
{
    std::string cmd = qemu_command("/x/mb-args.elf", "alpha beta=2", "/tmp/env");
    CHECK_THAT(cmd, Catch::Contains("'-accel' 'kvm'"));
    CHECK_THAT(cmd, Catch::Contains("'-kernel' '/x/mb-args.elf'"));
    CHECK_THAT(cmd, Catch::Contains("'-device' 'isa-debug-exit,iobase=0xf4,iosize=0x4'"));
    CHECK_THAT(cmd, Catch::Contains("'-serial' 'stdio'"));
    CHECK_THAT(cmd, Catch::Contains("'-no-reboot'"));
    CHECK_THAT(cmd, Catch::Contains("'-append' 'alpha beta=2'"));
    CHECK_THAT(cmd, Catch::Contains("'-initrd' '/tmp/env'"));
    CHECK_THAT(qemu_command("/x/mb-pass.elf"), !Catch::Contains("-append"));
}
