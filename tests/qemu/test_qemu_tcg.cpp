// The cpl0-instructions guests under QEMU with TCG (no KVM, -cpu max): QEMU's own
// emulation of int3, int n, into, movbe, cmpxchg8b/16b, popcnt, clac/stac, xgetbv,
// the cache-line write-backs, fnclex/fwait and xsave/xrstor, independent of KVM and
// of cr3rig's completion. Their passing here shows that what the guests check is the
// architecture's behaviour, not behaviour fitted to cr3rig (tests/kvm/test_completion.cpp
// runs the same images under cr3rig).
#include <catch2/catch.hpp>
#include <string>

#include "harness/qemu.hpp"
#include "harness/run_command.hpp"

using namespace cr3rig;
using namespace cr3rig::testing;

namespace {

std::string image(const std::string& name) { return std::string(CR3RIG_GUEST_DIR "/") + name + ".elf"; }

void require_pass_under_tcg(const std::string& name, const std::string& mode_line)
{
    auto qemu = run_command(qemu_shell_command(qemu_tcg_argv(image(name))));
    INFO(name << " under QEMU TCG (exit " << qemu.exit_code << "):\n" << qemu.output);
    auto verdict = qemu_verdict(qemu.exit_code, qemu.output);
    REQUIRE(verdict.has_value());  // else QEMU failed or quit without the debug-exit
    CHECK(*verdict == VerdictKind::Pass);
    CHECK_THAT(qemu.output, Catch::Contains(mode_line));
    CHECK_THAT(qemu.output, Catch::Contains(" 0 unexpected failures"));
    CHECK_THAT(qemu.output, !Catch::Contains("FAIL: "));
}

}  // namespace

TEST_CASE("QEMU TCG passes mb-cpl0-instructions, the checks in 32-bit protected mode")
{
    require_pass_under_tcg("mb-cpl0-instructions", "cpl0-instructions: 32-bit protected mode, paging off, CPL0");
}

TEST_CASE("QEMU TCG passes mb64-cpl0-instructions, the checks in 64-bit mode")
{
    require_pass_under_tcg("mb64-cpl0-instructions", "cpl0-instructions: 64-bit mode, CPL0");
}
