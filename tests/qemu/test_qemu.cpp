// The multiboot guests under QEMU (-accel kvm, isa-debug-exit) and under cr3rig: the
// same image file must come out with the same result and the same SUMMARY line.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "harness/qemu.hpp"
#include "harness/run_command.hpp"

using namespace cr3rig;
using namespace cr3rig::testing;

namespace {

std::string image(const std::string& name) { return std::string(CR3RIG_GUEST_DIR "/") + name + ".elf"; }

std::string summary_line(const std::string& output)
{
    std::smatch m;
    return std::regex_search(output, m, std::regex("SUMMARY: [^\\n]*")) ? m.str() : "(no SUMMARY line)";
}

// Runs one image under both and checks they agree; returns cr3rig's exit code.
int compare(const std::string& name, const std::string& args = "", const std::string& env_file = "")
{
    auto qemu = run_command(qemu_command(image(name), args, env_file));
    std::string rig_args = (args.empty() ? "" : " --cmdline '" + args + "'") +
                           (env_file.empty() ? "" : " --env '" + env_file + "'");
    auto rig = run_command(std::string(CR3RIG_BINARY) + " run" + rig_args + " " + image(name));
    INFO(name << "\nQEMU (exit " << qemu.exit_code << "):\n" << qemu.output << "\ncr3rig (exit " << rig.exit_code
              << "):\n" << rig.output);
    auto verdict = qemu_verdict(qemu.exit_code, qemu.output);
    REQUIRE(verdict.has_value());  // else QEMU failed, not the test
    CHECK(exit_code_of(*verdict) == rig.exit_code);
    CHECK(summary_line(qemu.output) == summary_line(rig.output));
    return rig.exit_code;
}

}  // namespace

TEST_CASE("QEMU and cr3rig give mb-pass, mb-fail and mb-skip the same result")
{
    CHECK(compare("mb-pass") == kExitPass);
    CHECK(compare("mb-fail") == kExitFail);
    CHECK(compare("mb-skip") == kExitSkip);
}

TEST_CASE("QEMU and cr3rig hand mb-args the same arguments and environment")
{
    auto env = std::filesystem::temp_directory_path() / ("cr3rig-qemu-env-" + std::to_string(getpid()) + ".txt");
    std::ofstream(env) << "ANSWER=42\n";
    CHECK(compare("mb-args", "alpha beta=2", env.string()) == kExitPass);
    CHECK(compare("mb-args", "alpha") == kExitFail);
    std::filesystem::remove(env);
}

TEST_CASE("QEMU and cr3rig both pass mb-cr3-switch, the cr3-switch guest as a multiboot image")
{
    CHECK(compare("mb-cr3-switch") == kExitPass);  // no SUMMARY line under either: its console is "cr3-switch: done"
}
