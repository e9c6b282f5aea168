// The main of a test binary that needs something the machine may lack (KVM, QEMU):
// without it every test exits 4 with the reason, which CTest (SKIP_RETURN_CODE 4)
// reports as skipped, never as passed. Listing tests needs nothing.
#pragma once

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>

namespace cr3rig::testing {

// `unusable` returns why the tests cannot run here, or nullopt.
inline int run_tests_or_skip(int argc, char** argv, const std::function<std::optional<std::string>()>& unusable)
{
    bool listing = false;
    for (int i = 1; i < argc; i++)
        listing |= std::strncmp(argv[i], "--list", 6) == 0;
    if (!listing) {
        if (auto why = unusable()) {
            std::printf("SKIP: %s\n", why->c_str());
            return 4;
        }
    }
    return Catch::Session().run(argc, argv);
}

}  // namespace cr3rig::testing
