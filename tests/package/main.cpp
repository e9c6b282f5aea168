// The package tests' main: without dpkg-deb, or in a build that makes no package, every
// test exits 4 with the reason, which CTest (SKIP_RETURN_CODE 4) reports as skipped.
#define CATCH_CONFIG_RUNNER
#include "tests/package/unpacked_package.hpp"
#include "tests/support/skip_main.hpp"

int main(int argc, char** argv)
{
    return cr3rig::testing::run_tests_or_skip(argc, argv, [] { return cr3rig::testing::package_unusable_reason(); });
}
