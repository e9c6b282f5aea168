// The main of the kvm-unit-tests suite test: it needs a usable KVM and the shared
// kvm-unit-tests folder; without either every test exits 4 with the reason, which CTest
// (SKIP_RETURN_CODE 4) reports as skipped. Listing tests needs neither.
#define CATCH_CONFIG_RUNNER
#include "harness/kut_data.hpp"
#include "tests/support/skip_main.hpp"
#include "vmm/kvm.hpp"

int main(int argc, char** argv)
{
    return cr3rig::testing::run_tests_or_skip(argc, argv, []() -> std::optional<std::string> {
        if (auto why = cr3rig::kvm_unusable_reason())
            return "the kvm-unit-tests suite needs a usable KVM device (" + cr3rig::default_kvm_path() + "): " + *why;
        if (auto why = cr3rig::testing::kut_dir_missing())
            return "kvm-unit-tests data: " + *why;
        return std::nullopt;
    });
}
