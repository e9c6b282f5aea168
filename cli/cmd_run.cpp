#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "cr3rig/abi.h"
#include "elf_loader.hpp"
#include "errors.hpp"
#include "guest_source.hpp"
#include "runner.hpp"
#include "verdict.hpp"

namespace cr3rig::cli {

namespace {

struct RunArgs {
    std::string guest = kDefaultGuest;
    double timeout_s = 10.0;
    unsigned memory_mib = 64;
    bool stats = false;
    bool quiet = false;
    std::string serial_log;
};

// Names of the lazytlb kernel's tracepoints (cr3rig/abi.h), for -v output.
const char* tracepoint_name(uint32_t event)
{
    switch (event) {
    case CR3RIG_TP_SWITCH: return "switch";
    case CR3RIG_TP_SWITCH_MM: return "switch_mm";
    case CR3RIG_TP_EXIT_MM: return "exit_mm";
    case CR3RIG_TP_CR3_WRITE: return "cr3_write";
    case CR3RIG_TP_FAULT_STORM: return "fault_storm";
    case CR3RIG_TP_TASK_EXIT: return "task_exit";
    case CR3RIG_TP_RT_THROTTLE: return "rt_throttle";
    default: return "event";
    }
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

int run(const RunArgs& args)
{
    ElfImage image = load_guest(args.guest);

    std::unique_ptr<std::FILE, FileCloser> serial_log;
    if (!args.serial_log.empty()) {
        serial_log.reset(std::fopen(args.serial_log.c_str(), "w"));
        if (!serial_log)
            throw BadInput("cannot write serial log " + args.serial_log);
    }

    RunOptions options;
    options.timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_s * 1000));
    options.memory_bytes = uint64_t{args.memory_mib} << 20;
    options.on_console = [&](char c) {
        if (!args.quiet) {
            std::fputc(c, stdout);
            if (c == '\n')
                std::fflush(stdout);
        }
        if (serial_log) {
            std::fputc(c, serial_log.get());
            if (c == '\n')
                std::fflush(serial_log.get());  // a killed run still leaves the log so far
        }
    };
    options.on_log = [](const std::string& line) { spdlog::info("guest: {}", line); };
    options.on_trace = [](const TraceRecord& t) {
        spdlog::debug("guest trace: {} ({}) {:#x} {:#x} {:#x} {:#x}", tracepoint_name(t.event), t.event, t.args[0],
                      t.args[1], t.args[2], t.args[3]);
    };
    options.on_bad_message = [](const std::string& line) { spdlog::warn("{}", line); };

    RunResult result = run_guest(image, options);
    std::fflush(stdout);

    double ms = std::chrono::duration<double, std::milli>(result.run_time).count();
    spdlog::info("{}: {}: {} [{:.1f} ms]", args.guest, name_of(result.verdict), result.reason, ms);
    if (!result.crash_dump.empty())
        std::fprintf(stderr, "%s\n", result.crash_dump.c_str());
    if (args.stats) {
        std::fprintf(stderr, "%s", result.stats.format().c_str());
        std::fprintf(stderr, "unclaimed port accesses: %llu, bad rig messages: %llu\n",
                     static_cast<unsigned long long>(result.unclaimed_port_accesses),
                     static_cast<unsigned long long>(result.bad_rig_messages));
    }
    return exit_code_of(result.verdict);
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<RunArgs>();
    auto* cmd = app.add_subcommand("run", "Run one guest image on KVM to a verdict");
    cmd->add_option("guest", args->guest,
                    "Guest ELF64 image, or builtin:NAME for one built into cr3rig (see `cr3rig guests`)")
        ->capture_default_str();
    cmd->add_option("--timeout", args->timeout_s, "Deadline in seconds; past it the verdict is TIMEOUT (exit 124)")
        ->check(CLI::Range(0.001, 86400.0))
        ->capture_default_str();
    cmd->add_option("--memory", args->memory_mib, "Guest RAM in MiB")->check(CLI::Range(2, 3072))->capture_default_str();
    cmd->add_flag("--stats", args->stats, "Print per-exit-reason counters after the run");
    cmd->add_flag("-q,--quiet", args->quiet, "Do not echo the guest console to stdout");
    cmd->add_option("--serial-log", args->serial_log, "Also write the guest console to this file");
    cmd->footer(
        "Exit codes: 0 pass, 1 guest reported failure, 2 usage or bad input, 3 guest crash or host error,\n"
        "4 skipped (no usable KVM), 124 timeout.");
    cmd->callback([args, exit_code] { *exit_code = run(*args); });
}

}  // namespace cr3rig::cli
