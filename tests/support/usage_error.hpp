// The bad-input contract of the CLI, for tests: one line of output, starting
// "cr3rig", and exit code 2.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "harness/run_command.hpp"

namespace cr3rig::testing {

inline void check_usage_error_of(const std::string& command, const std::string& expected_text)
{
    auto r = run_command(command);
    INFO(command << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::StartsWith("cr3rig"));
    CHECK_THAT(r.output, Catch::Contains(expected_text));
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}

}  // namespace cr3rig::testing
