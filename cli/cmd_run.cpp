#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/guest_source.hpp"
#include "cli/option_checks.hpp"
#include "cli/run_json.hpp"
#include "cli/run_outputs.hpp"
#include "cli/run_report.hpp"
#include "campaign/replay.hpp"
#include "common/errors.hpp"
#include "common/verdict.hpp"
#include "cr3rig/abi.h"
#include "traps/trap_backend.hpp"
#include "traps/trapped_run.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/runner.hpp"

namespace cr3rig::cli {

namespace {

// With no guest, `cr3rig run` runs these two under the trap engine, side by side.
constexpr const char* kPairBuggy = "builtin:lazytlb-buggy";
constexpr const char* kPairFixed = "builtin:lazytlb-fixed";
constexpr const char* kPairPolicy = "after-read";

struct RunArgs {
    std::string guest;  // empty: the buggy/fixed pair
    std::string timeout = "10";  // a duration(): "30", "30s", "2m"
    std::string boot_timeout;    // a duration(); empty: none
    std::string json;            // --json FILE, "-" for stdout
    unsigned memory_mib = 64;
    bool stats = false;
    bool quiet = false;
    std::string serial_log;
    std::string inject;  // empty: no trap engine unless --trace
    std::string trace;
    std::string report;  // HTML report; for the pair, a name per kernel (pair_output_path)
    uint64_t livelock_faults = 16;
    std::optional<uint64_t> rig_clock;  // given: trap; default kDefaultRigClockExits
    bool host_time = false;             // the guest's own timer on host time, by request
    std::optional<std::string> trap_backend;  // given: trap; default auto
    uint64_t livelock_abort = TrapOptions{}.livelock_abort;
    SemanticSymbols symbols;
    std::string cmdline;   // multiboot: after the guest's name on its command line
    std::string env_file;  // multiboot: the first module, KEY=VALUE lines
    unsigned smp = 1;                // vCPUs; more than one: no trap engine
    std::optional<std::string> cpu;  // QEMU's -cpu syntax; not given: KVM's CPUID
    bool no_complete = false;        // the backend's emulation failures stay crashes
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

// The command line and modules a multiboot guest boots with: its name first, as GRUB
// and QEMU do (argv[0]), then --cmdline; --env as the first module, as kvm-unit-tests'
// run scripts pass their environment. An ELF64 guest takes neither.
void add_boot_args(const RunArgs& args, const std::string& guest, const BootImage& image, RunOptions& options)
{
    if (image.elf64()) {
        if (!args.cmdline.empty() || !args.env_file.empty())
            throw BadInput("--cmdline and --env are multiboot boot information: " + guest +
                           " is an ELF64 image, entered in long mode without any");
        return;
    }
    options.cmdline = args.cmdline.empty() ? guest : guest + " " + args.cmdline;
    if (!args.env_file.empty())
        options.modules.push_back({args.env_file, read_file_bytes(args.env_file, "--env file")});
}

// How errors name the trap engine: it works on ELF64 images only.
constexpr std::string_view kTrapEngineUse =
    "the trap engine (--inject, --trace, --report, --rig-clock, --host-time, --trap-backend)";

TrapOptions trap_options_of(const RunArgs& args, const std::string& inject)
{
    TrapOptions trap_options;
    trap_options.policy = InjectionPolicy::parse(inject.empty() ? "none" : inject);
    trap_options.livelock_faults = args.livelock_faults;
    trap_options.rig_clock_exits = args.host_time ? kHostTime : args.rig_clock.value_or(kDefaultRigClockExits);
    trap_options.livelock_abort = args.livelock_abort;
    trap_options.symbols = args.symbols;
    if (args.trap_backend)  // CLI's check has vouched for the name
        trap_options.backend = parse_trap_backend(*args.trap_backend).value_or(TrapBackend::Auto);
    return trap_options;
}

// The guest's console echoed on stdout. The rig's own lines go to stderr, which
// `cr3rig test` writes to the same log file: stdout is flushed at each newline so that
// the two interleave in order, and a last line the guest left open is ended before the
// rig's lines follow, so that the verdict line starts a line of its own (kvm-unit-tests'
// dummy test prints "Dummy Hello World!" with no newline).
class ConsoleEcho {
public:
    void put(char c)
    {
        std::fputc(c, stdout);
        open_line_ = c != '\n';
        if (!open_line_)
            std::fflush(stdout);
    }

    // Before the rig's lines: ends an open line and flushes what is buffered.
    void end_line()
    {
        if (open_line_)
            std::fputc('\n', stdout);
        open_line_ = false;
        std::fflush(stdout);
    }

private:
    bool open_line_ = false;
};

// The guest's console to stdout (unless -q) and to --serial-log; its log lines,
// trace records and malformed messages to the log.
void add_observers(SerialLog* serial_log, const std::shared_ptr<ConsoleEcho>& echo, RunOptions& options)
{
    options.on_console = [echo, serial_log](char c) {
        if (echo)
            echo->put(c);
        if (serial_log)
            serial_log->put(c);
    };
    options.on_log = [](const std::string& line) { spdlog::info("guest: {}", line); };
    options.on_trace = [](const TraceRecord& t) {
        spdlog::debug("guest trace: {} ({}) {:#x} {:#x} {:#x} {:#x}", tracepoint_name(t.event), t.event, t.args[0],
                      t.args[1], t.args[2], t.args[3]);
    };
    options.on_bad_message = [](const std::string& line) { spdlog::warn("{}", line); };
}

// Every rig line on stderr starts "cr3rig: " (README, Output), multi-line text too.
void print_rig_lines(const std::string& text)
{
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = std::min(text.find('\n', pos), text.size());
        std::fprintf(stderr, "cr3rig: %s\n", text.substr(pos, end - pos).c_str());
        pos = end + 1;
    }
}

void print_stats(const RunResult& result, const TrappedResult* trapped)
{
    print_rig_lines(result.stats.format());
    print_rig_lines(result.completions.format());
    std::fprintf(stderr,
                 "cr3rig: unclaimed port accesses: %llu, unclaimed MMIO accesses: %llu, bad rig messages: %llu, "
                 "rig messages dropped by the rate limit: %llu\n",
                 static_cast<unsigned long long>(result.unclaimed_port_accesses),
                 static_cast<unsigned long long>(result.unclaimed_mmio_accesses),
                 static_cast<unsigned long long>(result.bad_rig_messages),
                 static_cast<unsigned long long>(result.dropped_rig_messages));
    if (!trapped)
        return;
    const TrapStats& t = trapped->stats;
    std::fprintf(stderr,
                 "cr3rig: traps: %llu reads, %llu writes, %llu flushes, %llu injections, %llu page faults, "
                 "%llu single steps, %llu rig ticks, %llu IDT loads, %llu rescans\n",
                 static_cast<unsigned long long>(t.reads), static_cast<unsigned long long>(t.writes),
                 static_cast<unsigned long long>(t.flushes), static_cast<unsigned long long>(t.injections),
                 static_cast<unsigned long long>(t.page_faults), static_cast<unsigned long long>(t.single_steps),
                 static_cast<unsigned long long>(t.rig_ticks), static_cast<unsigned long long>(t.idt_loads),
                 static_cast<unsigned long long>(t.rescans));
}

RunOptions run_options_of(const RunArgs& args, const std::string& guest, const BootImage& image)
{
    RunOptions options;
    add_boot_args(args, guest, image, options);
    options.timeout = std::chrono::ceil<std::chrono::milliseconds>(
        std::chrono::duration<double>(parse_duration_option(args.timeout)));
    if (!args.boot_timeout.empty())
        options.boot_timeout = std::chrono::ceil<std::chrono::milliseconds>(
            std::chrono::duration<double>(parse_duration_option(args.boot_timeout)));
    options.memory_bytes = uint64_t{args.memory_mib} << 20;
    options.vcpus = args.smp;
    if (args.cpu) {
        if (args.cpu->empty())
            throw BadInput("--cpu: an empty CPU model");
        options.cpu = *args.cpu;
    }
    options.on_warning = [](const std::string& line) { spdlog::warn("warning: {}", line); };
    options.complete_instructions = !args.no_complete;
    options.on_note = [](const std::string& line) { spdlog::info("{}", line); };
    return options;
}

// The rig's lines after a run: findings, the trap backend, the verdict, a crash's
// register dump, --stats.
void print_outcome(const RunArgs& args, const std::string& guest, const std::string& inject, const RunResult& result,
                   const TrappedResult* trapped)
{
    double ms = std::chrono::duration<double, std::milli>(result.run_time).count();
    if (trapped) {
        for (const auto& f : result.verdict.findings)
            spdlog::warn("FINDING {}", describe(f));
        spdlog::info("traps: {}; inject {}", trapped->backend, inject.empty() ? "none" : inject);
        for (const auto& note : trapped->notes)
            spdlog::info("traps: note: {}", note);
    }
    spdlog::info("{}: {}: {} [{:.1f} ms]", guest, name_of(result.verdict.kind), result.verdict.reason, ms);
    // A device the guest expects and the rig lacks must never pass silently.
    if (std::string unclaimed = describe_unclaimed(result.unclaimed); !unclaimed.empty())
        spdlog::warn("unclaimed accesses: {}", unclaimed);
    if (!result.crash_dump.empty())
        print_rig_lines(result.crash_dump);
    if (args.stats)
        print_stats(result, trapped);
}

struct RunOutcome {
    Verdict verdict;
    nlohmann::json json;  // run_json()
};

// Every output is opened or checked before the guest starts (BadInput, exit 2); a
// write that fails during the run throws std::runtime_error naming its path (exit 3).
RunOutcome run_one(const RunArgs& args, const std::string& guest, const std::string& inject)
{
    auto image = load_guest(guest);
    bool trapping =
        !inject.empty() || !args.trace.empty() || !args.report.empty() || args.rig_clock || args.host_time ||
                    args.trap_backend;
    if (trapping && args.smp != 1)
        throw BadInput("--smp " + std::to_string(args.smp) + " cannot be combined with " + std::string(kTrapEngineUse) +
                       ": the trap engine traps one vCPU");
    std::unique_ptr<TrappedRun> trapped_run;
    TrapOptions trap_options = trap_options_of(args, inject);
    if (trapping)  // checks the image before anything is written or started
        trapped_run = std::make_unique<TrappedRun>(*image, trap_options, kTrapEngineUse);
    RunOptions options = run_options_of(args, guest, *image);

    std::optional<SerialLog> serial_log;
    if (!args.serial_log.empty())
        serial_log.emplace(args.serial_log);
    std::unique_ptr<RunReport> report;
    if (!args.report.empty())
        report = std::make_unique<RunReport>(args.report, args.trace);
    std::string history_path = report ? report->history_path() : args.trace;
    if (trapped_run && !history_path.empty())
        trapped_run->keep_history({history_path, guest});
    auto echo = args.quiet || args.json == "-" ? nullptr : std::make_shared<ConsoleEcho>();
    add_observers(serial_log ? &*serial_log : nullptr, echo, options);

    std::optional<TrappedResult> trapped;
    if (trapped_run)
        trapped = trapped_run->run(options);
    RunResult result = trapped ? trapped->run : run_guest(*image, options);
    if (echo)
        echo->end_line();
    if (serial_log)
        serial_log->finish();
    if (report)
        report->write();  // the history is closed: the report reads it back
    print_outcome(args, guest, inject, result, trapped ? &*trapped : nullptr);
    std::optional<TrapJson> traps;
    if (trapped)
        traps.emplace(TrapJson{*trapped, inject.empty() ? "none" : inject, trap_options.rig_clock_exits,
                         run_replay_token(*image->elf64(), trap_options)});
    return {result.verdict, run_json(guest, result, traps)};
}

// A single guest's run: its verdict's exit code, and its --json.
int run_single(const RunArgs& args)
{
    std::optional<JsonFile> json;
    if (!args.json.empty())
        json.emplace(args.json);
    RunOutcome outcome = run_one(args, args.guest, args.inject);
    if (json)
        json->write(outcome.json);
    return exit_code_of(outcome.verdict);
}

std::string finding_kinds(const std::vector<Finding>& findings)
{
    std::string out;
    for (const auto& f : findings) {
        std::string kind = name_of(f.kind);
        if (out.find(kind) == std::string::npos)
            out += (out.empty() ? "" : ", ") + kind;
    }
    return out.empty() ? "-" : out;
}

// One kernel of the pair writes its own --trace, --report and --serial-log, named
// beside the given path (pair_output_path), so that the fixed run does not
// overwrite the buggy run's files.
RunArgs pair_member_args(const RunArgs& args, const std::string& which)
{
    RunArgs member = args;
    if (!args.trace.empty())
        member.trace = pair_output_path(args.trace, which, "--trace", ".jsonl");
    if (!args.report.empty())
        member.report = pair_output_path(args.report, which, "--report", ".html");
    if (!args.serial_log.empty())
        member.serial_log = pair_output_path(args.serial_log, which, "--serial-log", ".log");
    return member;
}

// The main job: the buggy and the fixed kernel under the same injection. Exit 0 when
// the rig caught the buggy one and the fixed one came out clean.
int run_pair(const RunArgs& args)
{
    std::string inject = args.inject.empty() ? kPairPolicy : args.inject;
    RunArgs buggy_args = pair_member_args(args, "buggy"), fixed_args = pair_member_args(args, "fixed");
    std::optional<JsonFile> json;
    if (!args.json.empty())
        json.emplace(args.json);
    RunOutcome buggy_run = run_one(buggy_args, kPairBuggy, inject);
    RunOutcome fixed_run = run_one(fixed_args, kPairFixed, inject);
    const Verdict &buggy = buggy_run.verdict, &fixed = fixed_run.verdict;
    bool caught = buggy.kind == VerdictKind::Fail && !buggy.findings.empty();
    bool clean = fixed.kind == VerdictKind::Pass && fixed.findings.empty();
    const char* conclusion = caught && clean ? "the rig caught the buggy kernel and the fixed kernel is clean"
                                             : "UNEXPECTED: the pair did not come out as buggy-caught, fixed-clean";
    VerdictKind pair_kind = caught && clean ? VerdictKind::Pass : VerdictKind::Fail;
    if (json)
        json->write({{"format", "cr3rig-run-pair/1"},
                     {"verdict", name_of(pair_kind)},
                     {"exit_code", exit_code_of(pair_kind)},
                     {"reason", conclusion},
                     {"runs", {buggy_run.json, fixed_run.json}}});
    if (json && json->is_stdout())
        return exit_code_of(pair_kind);  // stdout is the JSON's alone
    std::printf("\n%-24s %-8s findings (--inject %s)\n", "guest", "verdict", inject.c_str());
    std::printf("%-24s %-8s %s\n", kPairBuggy, std::string(name_of(buggy.kind)).c_str(),
                finding_kinds(buggy.findings).c_str());
    std::printf("%-24s %-8s %s\n", kPairFixed, std::string(name_of(fixed.kind)).c_str(),
                finding_kinds(fixed.findings).c_str());
    std::printf("%s\n", conclusion);
    if (!args.trace.empty())
        std::printf("traces: %s (buggy), %s (fixed)\n", buggy_args.trace.c_str(), fixed_args.trace.c_str());
    if (!args.report.empty())
        std::printf("reports: %s (buggy), %s (fixed)\n", buggy_args.report.c_str(), fixed_args.report.c_str());
    if (!args.serial_log.empty())
        std::printf("serial logs: %s (buggy), %s (fixed)\n", buggy_args.serial_log.c_str(),
                    fixed_args.serial_log.c_str());
    return exit_code_of(pair_kind);
}

// The trap engine's options: what it injects, what it writes, how it detects.
void add_trap_options(CLI::App* cmd, RunArgs* args)
{
    cmd->add_option("--inject", args->inject,
                    "Trap CR3 accesses and force timer preemptions: none, after-read, after-read:K, nth:N[:K][,M[:L]...], "
                    "random:SEED[:P]");
    cmd->add_option("--trace", args->trace,
                    "Write the CR3 history as JSON Lines (implies trapping). Without a guest: FILE.jsonl names two "
                    "histories, FILE-buggy.jsonl and FILE-fixed.jsonl");
    cmd->add_option("--report", args->report,
                    "Write an HTML report of the CR3 history (implies trapping). Without a guest: FILE.html names "
                    "two reports, FILE-buggy.html and FILE-fixed.html");
    cmd->add_option("--livelock-faults", args->livelock_faults,
                    "Consecutive faults at one RIP and address that make a livelock")
        ->check(whole_number())
        ->check(CLI::Range(uint64_t{2}, uint64_t{1} << 40))
        ->capture_default_str();
    cmd->add_option("--livelock-abort", args->livelock_abort,
                    "End the run after this many consecutive faults at one address (the guest is stuck); 0 = never")
        ->check(whole_number())
        ->capture_default_str();
    auto* rig_clock =
        cmd->add_option("--rig-clock", args->rig_clock,
                        "Guest time under the trap engine: the rig stops the guest's LAPIC timer and ticks it every N "
                        "exits (and when the guest halts), so the same command gives the same verdict on any host "
                        "(default " +
                            std::to_string(kDefaultRigClockExits) + ")")
            ->check(whole_number())
            ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
    cmd->add_flag("--host-time", args->host_time,
                  "Under the trap engine, leave the guest's LAPIC timer on host time: where ticks land then depends "
                  "on the host's speed and load")
        ->excludes(rig_clock);
    cmd->add_option("--trap-backend", args->trap_backend,
                    "How trapped instructions exit (implies trapping): auto (debug registers while the sites fit, "
                    "patched traps past that), hw (debug registers only), port (every site patched into `out` to the "
                    "trap port), int3 (software breakpoints), step (single-step every instruction)")
        ->check(CLI::IsMember(trap_backend_names()));
    cmd->add_option("--current-symbol", args->symbols.current, "Symbol holding the current task pointer")
        ->capture_default_str();
    cmd->add_option("--offset-prefix", args->symbols.offset_prefix,
                    "Prefix of the absolute symbols holding task/mm offsets (task_pid, task_name, task_mm, "
                    "task_active_mm, mm_pgd)")
        ->capture_default_str();
}

// The VM's options and the console's outputs.
void add_machine_options(CLI::App* cmd, RunArgs* args)
{
    cmd->add_option("--timeout", args->timeout,
                    "Deadline, in seconds or with s/m/h/d as `cr3rig test --timeout` (30, 30s, 2m); past it the "
                    "verdict is TIMEOUT (exit 124)")
        ->check(duration())
        ->capture_default_str();
    cmd->add_option("--boot-timeout", args->boot_timeout,
                    "Fail fast when the guest writes nothing to its console this long after the start: TIMEOUT "
                    "(exit 124), \"no output from the guest in N s\"")
        ->check(duration());
    cmd->add_option("--json", args->json,
                    "Write the run as one JSON object (verdict, exit code, reason, findings, statistics) to FILE; - "
                    "for stdout, with the guest's console not echoed. Without a guest: both runs in one object")
        ->type_name("FILE");
    cmd->add_option("--memory", args->memory_mib, "Guest RAM in MiB")
        ->check(whole_number())
        ->check(CLI::Range(2, 3072))
        ->capture_default_str();
    cmd->add_flag("--stats", args->stats, "Print per-exit-reason and trap counters after the run");
    cmd->add_flag("-q,--quiet", args->quiet, "Do not echo the guest console to stdout");
    cmd->add_option("--serial-log", args->serial_log,
                    "Also write the guest console to this file. Without a guest: FILE.log names two logs, "
                    "FILE-buggy.log and FILE-fixed.log");
    cmd->add_option("--cmdline", args->cmdline,
                    "Multiboot guests: arguments on the command line, after the guest's name (argv[0])");
    cmd->add_option("--env", args->env_file,
                    "Multiboot guests: this file becomes the first module, the environment (KEY=VALUE lines), as "
                    "kvm-unit-tests passes it")
        ->type_name("FILE");
    cmd->add_option("--smp", args->smp,
                    "vCPUs: vCPU 0 starts at the image's entry, the others wait for INIT/SIPI from its LAPIC, as "
                    "on a PC; more than one cannot be combined with the trap engine; more than KVM allows: SKIP "
                    "(exit 4)")
        ->check(whole_number())
        ->check(CLI::Range(1u, 4096u))
        ->capture_default_str();
    cmd->add_option("--cpu", args->cpu,
                    "CPU model in QEMU's -cpu syntax: host, max or qemu64, then +feat, -feat, feat=on|off, "
                    "host-phys-bits; a model or part cr3rig cannot give: SKIP (exit 4) with the reason")
        ->type_name("SPEC");
    cmd->add_flag("--no-complete", args->no_complete,
                  "Do not complete the instructions the KVM backend cannot emulate (int3, int n, movbe, xgetbv...; "
                  "docs/completion.md): each such emulation failure stays a crash, naming the instruction");
}

}  // namespace

void add_run_command(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<RunArgs>();
    auto* cmd = app.add_subcommand("run", "Run a guest image on KVM to a verdict, optionally trapping CR3 accesses");
    cmd->add_option("guest", args->guest,
                    "Guest image: ELF64 x86-64 or multiboot (v1), or builtin:NAME (see `cr3rig guests`). Without "
                    "one: lazytlb-buggy and lazytlb-fixed under --inject after-read, side by side");
    add_trap_options(cmd, args.get());
    add_machine_options(cmd, args.get());
    cmd->footer(
        "Exit codes: 0 pass, 1 bug found or guest reported failure, 2 usage or bad input (an output path that\n"
        "cannot be opened included), 3 guest crash or host error (an output that fails during the run, named),\n"
        "4 skipped (no usable KVM, a --cpu or --smp this host cannot give, or the guest exited 77), 124 timeout.");
    cmd->callback([args, exit_code] {
        if (args->guest.empty()) {
            *exit_code = run_pair(*args);
            return;
        }
        *exit_code = run_single(*args);
    });
}

}  // namespace cr3rig::cli
