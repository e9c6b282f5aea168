// The browser tests' main: without a headless Chromium every test exits 4 with the
// reason, which CTest (SKIP_RETURN_CODE 4) reports as skipped, never as passed.
// Listing tests never needs the browser.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>

#include "tests/browser/chromium.hpp"

int main(int argc, char** argv)
{
    bool listing = false;
    for (int i = 1; i < argc; i++)
        listing |= std::strncmp(argv[i], "--list", 6) == 0;
    if (!listing && !cr3rig::testing::chromium_usable()) {
        std::printf("SKIP: the browser tests need Chromium at %s (Debian package chromium, installed by "
                    "ci/install-deps.sh; CR3RIG_CHROMIUM=/path picks another)\n",
                    cr3rig::testing::chromium_path().c_str());
        return 4;
    }
    return Catch::Session().run(argc, argv);
}
