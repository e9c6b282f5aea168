// More than one vCPU and QEMU's -cpu models, on the real kvm-unit-tests binaries that
// need them (smptest, vmexit's IPI and CR tests with smp = 2, tscdeadline with
// -cpu qemu64,+x2apic,+tsc-deadline), through `cr3rig run` as `cr3rig test` runs them;
// and what is refused: an unknown model (SKIP, exit 4, the reason named), --smp with
// the trap engine (exit 2).
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/errors.hpp"
#include "harness/run_command.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/kvm.hpp"
#include "vmm/run_hook.hpp"
#include "vmm/runner.hpp"

using cr3rig::testing::run_command;

namespace {

// $CR3RIG_KUT_DIR, else the shared folder beside the repository. Without the
// binaries the test is skipped (exit 4, CTest's SKIP_RETURN_CODE) with the reason.
std::string kut_binary(const std::string& name)
{
    const char* env = std::getenv("CR3RIG_KUT_DIR");
    std::filesystem::path dir = env && *env ? env : CR3RIG_SOURCE_DIR "/../shared/kvm-unit-tests";
    std::filesystem::path file = dir / name;
    if (!std::filesystem::is_regular_file(file)) {
        std::printf("SKIP: %s not found (set CR3RIG_KUT_DIR to kvm-unit-tests' x86 binaries)\n", file.c_str());
        std::fflush(stdout);
        std::exit(4);
    }
    return file.string();
}

// `cr3rig run` as `cr3rig test` runs a kvm-unit-tests entry: QEMU's 128 MiB.
cr3rig::testing::CommandResult run_kut(const std::string& binary, const std::string& args)
{
    return run_command(std::string(CR3RIG_BINARY) + " run " + kut_binary(binary) + " --memory 128 " + args);
}

// A hook that takes part in nothing: enough to be refused.
struct IdleHook : cr3rig::RunHook {
    void start(cr3rig::RunContext&) override {}
    cr3rig::HookAction on_exit(cr3rig::RunContext&, const cr3rig::VmExit&) override
    {
        return cr3rig::HookAction::proceed();
    }
    std::vector<cr3rig::Finding> finish(cr3rig::RunContext&, const cr3rig::Stop&) override { return {}; }
};

void check_passed(const cr3rig::testing::CommandResult& r)
{
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains(": PASS: "));
    CHECK_THAT(r.output, !Catch::Contains("FAIL"));
}

}  // namespace

TEST_CASE("smptest passes with two vCPUs: every AP comes up and takes an IPI")
{
    auto r = run_kut("smptest.flat", "--smp 2");
    check_passed(r);
    CHECK_THAT(r.output, Catch::Contains("found 2 cpus"));
    CHECK_THAT(r.output, Catch::Contains("ipi called, cpu 1"));
}

TEST_CASE("smptest passes with three vCPUs")
{
    auto r = run_kut("smptest.flat", "--smp 3");
    check_passed(r);
    CHECK_THAT(r.output, Catch::Contains("found 3 cpus"));
    CHECK_THAT(r.output, Catch::Contains("ipi called, cpu 2"));
}

TEST_CASE("vmexit ipi passes with two vCPUs")
{
    check_passed(run_kut("vmexit.flat", "--smp 2 --cmdline ipi"));
}

TEST_CASE("vmexit ipi_halt passes with two vCPUs")
{
    check_passed(run_kut("vmexit.flat", "--smp 2 --cmdline ipi_halt"));
}

TEST_CASE("vmexit toggle_cr0_wp passes with two vCPUs")
{
    check_passed(run_kut("vmexit.flat", "--smp 2 --cmdline toggle_cr0_wp"));
}

TEST_CASE("vmexit toggle_cr4_pge passes with two vCPUs")
{
    check_passed(run_kut("vmexit.flat", "--smp 2 --cmdline toggle_cr4_pge"));
}

TEST_CASE("vmexit tscdeadline and tscdeadline_immed pass on qemu64 with x2apic and the TSC-deadline timer")
{
    for (const char* test : {"tscdeadline", "tscdeadline_immed"}) {
        auto r = run_kut("vmexit.flat", std::string("--cpu qemu64,+x2apic,+tsc-deadline --cmdline ") + test);
        check_passed(r);
        CHECK_THAT(r.output, !Catch::Contains("warning"));  // KVM's LAPIC has both
    }
}

TEST_CASE("a CPU model cr3rig does not know is a SKIP naming it")
{
    auto r = run_kut("smptest.flat", "--cpu Skylake-Server,host-phys-bits,+vmx,+vmx-mbec");
    INFO(r.output);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.output,
               Catch::Contains("cr3rig: SKIP: -cpu Skylake-Server: cr3rig knows the models host, max and qemu64"));
}

TEST_CASE("a malformed CPU model and --smp 0 are bad input")
{
    for (const char* args : {"--cpu qemu64,,+x2apic", "--cpu ''", "--smp 0"}) {
        auto r = run_kut("smptest.flat", args);
        INFO(args << "\n" << r.output);
        CHECK(r.exit_code == 2);
    }
}

TEST_CASE("run with --smp above 1 and the trap engine is refused in one line")
{
    auto r = run_command(std::string(CR3RIG_BINARY) + " run builtin:lazytlb-fixed --smp 2 --inject after-read");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("cr3rig: error: --smp 2 cannot be combined with the trap engine"));
}

TEST_CASE("a hook or a snapshot with more than one vCPU is BadInput, one vCPU still takes both")
{
    auto image = cr3rig::parse_boot_image(cr3rig::read_file_bytes(kut_binary("smptest.flat"), "guest image"));
    IdleHook hook;
    cr3rig::RunOptions two;
    two.vcpus = 2;
    two.cmdline = "smptest.flat";
    two.hook = &hook;
    CHECK_THROWS_AS(cr3rig::run_guest(*image, two), cr3rig::BadInput);
    two.hook = nullptr;
    cr3rig::GuestSession session(*image, two);
    CHECK_THROWS_AS(session.run(&hook, std::chrono::seconds(10)), cr3rig::BadInput);
    CHECK_THROWS_AS(session.take_snapshot(), cr3rig::BadInput);
    CHECK(session.run(nullptr, std::chrono::seconds(60)).verdict.kind == cr3rig::VerdictKind::Pass);

    cr3rig::RunOptions one;
    one.cmdline = "smptest.flat";
    cr3rig::GuestSession single(*image, one);
    single.take_snapshot();
    CHECK(single.has_snapshot());
}

TEST_CASE("more vCPUs than KVM allows is a SKIP naming the limit")
{
    cr3rig::Kvm kvm;
    int max = kvm.check_extension(KVM_CAP_MAX_VCPUS);
    REQUIRE(max > 0);
    auto image = cr3rig::parse_boot_image(cr3rig::read_file_bytes(kut_binary("smptest.flat"), "guest image"));
    cr3rig::RunOptions options;
    options.vcpus = static_cast<unsigned>(max) + 1;
    options.cmdline = "smptest.flat";
    CHECK_THROWS_AS(cr3rig::run_guest(*image, options), cr3rig::Unsupported);
    if (max < 4096) {  // --smp takes up to 4096
        auto r = run_kut("smptest.flat", "--smp " + std::to_string(max + 1));
        INFO(r.output);
        CHECK(r.exit_code == 4);
        CHECK_THAT(r.output, Catch::Contains("vCPUs: this host's KVM allows at most " + std::to_string(max)));
    }
}
