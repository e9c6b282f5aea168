// kvm-unit-tests' x86 binaries that need the PC devices (ACPI tables and PM registers,
// the RTC, S3, pc-testdev, loading below 1 MiB) pass under `cr3rig run` as under QEMU,
// and an access no device claims is named on stderr. The binaries come from
// $CR3RIG_KUT_DIR or ../shared/kvm-unit-tests beside the source tree; without them
// each test exits 4 (SKIP) saying so.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "harness/run_command.hpp"

using cr3rig::testing::run_command;

namespace {

std::string kut_dir()
{
    if (const char* dir = std::getenv("CR3RIG_KUT_DIR"); dir && *dir)
        return dir;
    return std::string(CR3RIG_SOURCE_DIR) + "/../shared/kvm-unit-tests";
}

// The binary's path, or the test ends as a SKIP naming what is missing.
std::string kut_binary(const std::string& name)
{
    std::string path = kut_dir() + "/" + name;
    if (!std::filesystem::is_regular_file(path)) {
        std::printf("SKIP: %s is missing (set CR3RIG_KUT_DIR to kvm-unit-tests' x86 binaries)\n", path.c_str());
        std::fflush(stdout);
        std::exit(4);
    }
    return path;
}

// As `cr3rig test` runs them: QEMU's 128 MiB, a deadline far past any honest run.
cr3rig::testing::CommandResult run_kut(const std::string& name, const std::string& args = "")
{
    return run_command(std::string(CR3RIG_BINARY) + " run " + kut_binary(name) + " --memory 128 --timeout 10m " +
                       args);
}

}  // namespace

TEST_CASE("kvm-unit-tests s3: ACPI tables, the RTC alarm, S3 and the real-mode wake at the FACS vector")
{
    auto r = run_kut("s3.flat");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("PM1a event registers at 600"));
    CHECK_THAT(r.output, Catch::Contains("PASS: guest exit code 0"));
}

TEST_CASE("kvm-unit-tests realmode: loaded at 0x8000, pc-testdev's data port and IRQ lines")
{
    auto r = run_kut("realmode.flat");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("PASS: pio 1"));
    CHECK_THAT(r.output, !Catch::Contains("unclaimed accesses"));  // every port it touches is served
    CHECK_THAT(r.output, Catch::Contains("PASS: sti inhibit"));
    CHECK_THAT(r.output, !Catch::Contains("FAIL"));
    CHECK_THAT(r.output, Catch::Contains("PASS: guest exit code 0"));
}

TEST_CASE("kvm-unit-tests vmexit inl_from_pmtimer reads the PM timer the FADT names, unclaimed ports are named")
{
    auto r = run_kut("vmexit.flat", "--cmdline inl_from_pmtimer");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("PM timer port is 608"));
    CHECK_THAT(r.output, !Catch::Contains("Can't find RSDP"));
    // Its PCI probe finds no host bridge: named, not silent.
    CHECK_THAT(r.output, Catch::Contains("cr3rig: unclaimed accesses: out 0xcf8 (4 bytes)"));
    CHECK_THAT(r.output, Catch::Contains("(no device claims them; they read all-ones)"));
}

TEST_CASE("cr3rig run names the unclaimed accesses on stderr, one line at the end")
{
    auto r = run_command(std::string(CR3RIG_BINARY) + " run builtin:hostile-ports -q");  // -q: stderr only
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("cr3rig: unclaimed accesses: out 0x80 (1 byte), out 0x1234 (4 bytes)"));
    CHECK_THAT(r.output, Catch::Contains("in 0x2100 (4 bytes), write 0xc0000000 (4 bytes)"));
    CHECK_THAT(r.output, Catch::Contains("read 0xfed00000 (8 bytes) (no device claims them; they read all-ones)"));
}
