#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "common/errors.hpp"
#include "common/verdict.hpp"
#include "report/history.hpp"
#include "report/html_report.hpp"
#include "report/perfetto_writer.hpp"
#include "report/text_listing.hpp"

namespace cr3rig::cli {

namespace {

struct TraceArgs {
    std::string input;
    std::string to = "text";
    std::string output;  // empty: stdout
};

void convert(const TraceArgs& args)
{
    report::History history = report::read_history_file(args.input);
    for (const auto& w : history.warnings)
        spdlog::warn("warning: {}", w);

    std::ofstream file;
    if (!args.output.empty()) {
        file.open(args.output, std::ios::binary);
        if (!file)
            throw BadInput("cannot write " + args.output);
    }
    std::ostream& out = args.output.empty() ? std::cout : file;
    if (args.to == "html")
        report::write_html_report(history, out);
    else if (args.to == "perfetto")
        report::write_perfetto_json(history, out);
    else
        report::write_text_listing(history, out);
    out.flush();
    if (!out)
        throw BadInput("cannot write " + (args.output.empty() ? std::string("to stdout") : args.output));
    if (!args.output.empty())
        spdlog::info("wrote {} ({}, {} events, {} findings)", args.output, args.to, history.events.size(),
                     history.findings.size());
}

}  // namespace

void add_trace_command(CLI::App& app, int* exit_code)
{
    auto args = std::make_shared<TraceArgs>();
    auto* cmd = app.add_subcommand("trace", "Show a CR3 history (--trace FILE of `cr3rig run`) as HTML, Perfetto JSON or text");
    cmd->add_option("file", args->input, "The history, JSON Lines (cr3rig-history/1)")->required();
    cmd->add_option("--to", args->to,
                    "html: a self-contained page with an SVG timeline; perfetto: Chrome trace-event JSON for "
                    "ui.perfetto.dev or chrome://tracing; text: an aligned listing")
        ->check(CLI::IsMember({"html", "perfetto", "text"}))
        ->capture_default_str();
    cmd->add_option("-o,--output", args->output, "Write here instead of stdout");
    cmd->footer("Exit codes: 0 written, 2 bad input (unreadable, empty, malformed or unknown-format history).\n"
                "A history cut short by a killed run is shown up to its last whole line, with a warning.");
    cmd->callback([args, exit_code] {
        convert(*args);
        *exit_code = exit_code_of(VerdictKind::Pass);
    });
}

}  // namespace cr3rig::cli
