// The subcommands of cr3rig. Each registers its options on the app and returns the
// exit code of its action through `*exit_code` once it has run.
#pragma once

#include <CLI/CLI.hpp>

namespace cr3rig::cli {

void add_run_command(CLI::App& app, int* exit_code);
void add_guests_command(CLI::App& app, int* exit_code);
void add_sites_command(CLI::App& app, int* exit_code);
void add_campaign_commands(CLI::App& app, int* exit_code);  // campaign, merge, replay
void add_doctor_command(CLI::App& app, int* exit_code);
void add_trace_command(CLI::App& app, int* exit_code);
void add_test_command(CLI::App& app, int* exit_code);

}  // namespace cr3rig::cli
