// The KVM tests' main: when /dev/kvm is unusable every test exits 4 with the reason,
// which CTest (SKIP_RETURN_CODE 4) reports as skipped. Listing tests never needs KVM.
#define CATCH_CONFIG_RUNNER
#include "tests/support/skip_main.hpp"
#include "vmm/kvm.hpp"

int main(int argc, char** argv)
{
    return cr3rig::testing::run_tests_or_skip(argc, argv, []() -> std::optional<std::string> {
        if (auto why = cr3rig::kvm_unusable_reason())
            return "KVM tests need a usable KVM device (" + cr3rig::default_kvm_path() + "): " + *why;
        return std::nullopt;
    });
}
