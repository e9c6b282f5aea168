// The QEMU TCG tests' main: they need QEMU only (no KVM: TCG is QEMU's own CPU
// emulation); without it every test is skipped (exit 4) with the reason.
#define CATCH_CONFIG_RUNNER
#include "harness/qemu.hpp"
#include "tests/support/skip_main.hpp"

int main(int argc, char** argv)
{
    return cr3rig::testing::run_tests_or_skip(argc, argv, []() -> std::optional<std::string> {
        if (auto why = cr3rig::testing::qemu_missing_reason())
            return "QEMU TCG tests: " + *why;
        return std::nullopt;
    });
}
