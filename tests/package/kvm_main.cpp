// The main of the package tests that run the packaged cr3rig on KVM: they skip (exit 4,
// with the reason) as the other package tests do, and also when /dev/kvm is unusable,
// decided as the KVM tests decide it (tests/kvm/main.cpp).
#define CATCH_CONFIG_RUNNER
#include "tests/package/unpacked_package.hpp"
#include "tests/support/skip_main.hpp"
#include "vmm/kvm.hpp"

int main(int argc, char** argv)
{
    return cr3rig::testing::run_tests_or_skip(argc, argv, []() -> std::optional<std::string> {
        if (auto why = cr3rig::testing::package_unusable_reason())
            return why;
        if (auto why = cr3rig::kvm_unusable_reason())
            return "the packaged cr3rig needs a usable KVM device (" + cr3rig::default_kvm_path() + "): " + *why;
        return std::nullopt;
    });
}
