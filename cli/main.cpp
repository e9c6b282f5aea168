// cr3rig: a KVM test rig for CR3 preemption races, and a host for guest test binaries.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "common/errors.hpp"
#include "common/verdict.hpp"
#include "traps/capstone_version.hpp"

namespace {

void set_up_logging(bool verbose)
{
    // Our messages go to stderr; stdout is the guest's console.
    auto logger = spdlog::stderr_logger_st("cr3rig");
    logger->set_pattern("cr3rig: %v");
    logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
    spdlog::set_default_logger(logger);
}

}  // namespace

int main(int argc, char** argv)
{
    using namespace cr3rig;
    CLI::App app{"cr3rig: traps CR3 accesses of a KVM guest, forces preemptions between a CR3 read and "
                 "its write, and hosts guest test binaries"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("cr3rig " CR3RIG_VERSION ", capstone ") + capstone_version());
    bool verbose = false;
    app.add_flag("-v,--verbose", verbose, "Also print guest trace records and debug messages");

    int exit_code = exit_code_of(VerdictKind::BadInput);
    cli::add_run_command(app, &exit_code);
    cli::add_guests_command(app, &exit_code);
    cli::add_sites_command(app, &exit_code);
    cli::add_campaign_commands(app, &exit_code);
    cli::add_doctor_command(app, &exit_code);
    cli::add_trace_command(app, &exit_code);
    cli::add_test_command(app, &exit_code);
    app.parse_complete_callback([&verbose] { set_up_logging(verbose); });

    try {
        // CLI11 would call an unknown command a stray argument; name it instead.
        if (argc > 1 && argv[1][0] != '-' &&
            app.get_subcommands([&](CLI::App* sub) { return sub->get_name() == argv[1]; }).empty())
            throw CLI::ParseError("unknown command '" + std::string(argv[1]) + "'", exit_code_of(VerdictKind::BadInput));
        app.parse(argc, argv);
        return exit_code;
    } catch (const CLI::Success& e) {  // --help, --version
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "cr3rig: %s (see --help)\n", e.what());
        return exit_code_of(VerdictKind::BadInput);
    } catch (const BadInput& e) {
        std::fprintf(stderr, "cr3rig: error: %s\n", e.what());
        return exit_code_of(VerdictKind::BadInput);
    } catch (const KvmUnavailable& e) {
        std::fprintf(stderr, "cr3rig: SKIP: no usable KVM: %s\n", e.what());
        return exit_code_of(VerdictKind::Skip);
    } catch (const Unsupported& e) {
        std::fprintf(stderr, "cr3rig: SKIP: %s\n", e.what());
        return exit_code_of(VerdictKind::Skip);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cr3rig: host error: %s\n", e.what());
        return exit_code_of(VerdictKind::Crash);
    }
}
