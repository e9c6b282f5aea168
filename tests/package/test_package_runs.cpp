// The packaged cr3rig on KVM: the unpacked /usr/bin/cr3rig checks the host (doctor) and
// runs one of its embedded guests to a PASS verdict.
#include <catch2/catch.hpp>

#include <string>

#include "tests/package/unpacked_package.hpp"
#include "tests/support/line_match.hpp"

using namespace cr3rig::testing;

TEST_CASE("the packaged cr3rig's doctor says it can run here")
{
    auto r = run_command(shell_path(unpacked_package().binary()) + " doctor");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(has_line_matching(r.output, R"(verdict: cr3rig can run here \(exit 0\))"));
}

TEST_CASE("the packaged cr3rig runs its embedded hello guest to PASS")
{
    auto r = run_command(shell_path(unpacked_package().binary()) + " run builtin:hello");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(has_line_matching(r.output, "hello from cr3rig guest"));
    CHECK(has_line_matching(r.output, R"(cr3rig: builtin:hello: PASS: guest exit code 0 .*)"));
}
