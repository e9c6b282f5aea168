// The QEMU comparison tests' main: they need both a usable KVM device for cr3rig and a
// QEMU that can use KVM; without either every test is skipped (exit 4) with the reason.
#define CATCH_CONFIG_RUNNER
#include "harness/qemu.hpp"
#include "tests/support/skip_main.hpp"
#include "vmm/kvm.hpp"

int main(int argc, char** argv)
{
    return cr3rig::testing::run_tests_or_skip(argc, argv, []() -> std::optional<std::string> {
        if (auto why = cr3rig::kvm_unusable_reason())
            return "QEMU comparison needs a usable KVM device (" + cr3rig::default_kvm_path() + "): " + *why;
        if (auto why = cr3rig::testing::qemu_unusable_reason())
            return "QEMU comparison: " + *why;
        return std::nullopt;
    });
}
