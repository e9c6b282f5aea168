// The gdb-stub tests' main: they need a usable KVM device for cr3rig, a QEMU that can use
// KVM, and gdb with Python; without any of them every test is skipped (exit 4) with the
// reason. A binary of its own so that a missing gdb does not skip the QEMU comparison.
#define CATCH_CONFIG_RUNNER
#include "harness/peer_gdbstub.hpp"
#include "tests/support/skip_main.hpp"
#include "vmm/kvm.hpp"

int main(int argc, char** argv)
{
    return cr3rig::testing::run_tests_or_skip(argc, argv, []() -> std::optional<std::string> {
        if (auto why = cr3rig::kvm_unusable_reason())
            return "gdb-stub comparison needs a usable KVM device (" + cr3rig::default_kvm_path() + "): " + *why;
        if (auto why = cr3rig::bench::gdbstub_unusable_reason())
            return "gdb-stub comparison: " + *why;
        return std::nullopt;
    });
}
