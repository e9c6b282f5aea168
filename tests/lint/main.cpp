// The lint tests' main: without Node.js, npm, ShellCheck or the linters installed in
// ci/node_modules every test exits 4 with the reason, which CTest (SKIP_RETURN_CODE 4)
// reports as skipped, never as passed. Listing tests needs none of them.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/lint/lint_tools.hpp"
#include "tests/support/skip_main.hpp"

int main(int argc, char** argv)
{
    return cr3rig::testing::run_tests_or_skip(argc, argv, cr3rig::testing::lint_tools_missing);
}
