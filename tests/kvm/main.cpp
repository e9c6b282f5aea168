// The KVM tests' main: when /dev/kvm is unusable every test exits 4 with the reason,
// which CTest (SKIP_RETURN_CODE 4) reports as skipped. Listing tests never needs KVM.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>

#include "kvm.hpp"

int main(int argc, char** argv)
{
    bool listing = false;
    for (int i = 1; i < argc; i++)
        listing |= std::strncmp(argv[i], "--list", 6) == 0;
    if (!listing) {
        if (auto why = cr3rig::kvm_unusable_reason()) {
            std::printf("SKIP: KVM tests need a usable KVM device (%s): %s\n", cr3rig::default_kvm_path().c_str(),
                        why->c_str());
            return 4;
        }
    }
    return Catch::Session().run(argc, argv);
}
