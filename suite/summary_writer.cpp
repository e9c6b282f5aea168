#include <algorithm>
#include <cstdio>

#include "suite/shell_words.hpp"
#include "suite/writers.hpp"

namespace cr3rig::suite {

namespace {

// ANSI colours of a verdict: PASS green, FAIL red, SKIP yellow.
std::string verdict_text(Outcome o, bool colour)
{
    std::string name(name_of(o));
    if (!colour)
        return name;
    const char* code = o == Outcome::Pass ? "32" : o == Outcome::Fail ? "31" : "33";
    return std::string("\033[1;") + code + "m" + name + "\033[0m";
}

}  // namespace

std::string Rerun::test_command(const TestResult& r) const
{
    std::vector<std::string> argv = test_argv;
    argv.insert(argv.end(), {"--only", r.name});
    return command_line(argv);
}

std::string Rerun::replay_command(const TestResult& r) const
{
    if (r.replay_token.empty() || test_argv.empty())
        return {};
    return command_line({test_argv.front(), "replay", r.replay_token, r.guest});
}

std::string summary_line(const TestResult& r, size_t name_width, bool colour)
{
    char time[32] = "-";
    if (!r.log_path.empty())  // it ran
        std::snprintf(time, sizeof time, "%.2f s", r.seconds);
    std::string padded_time = std::string(time);
    padded_time.insert(0, padded_time.size() < 9 ? 9 - padded_time.size() : 0, ' ');
    std::string out = verdict_text(r.outcome, colour) + "  " + r.name;
    out.append(name_width > r.name.size() ? name_width - r.name.size() : 0, ' ');
    out += "  " + padded_time;
    if (!r.detail.empty())
        out += "  " + r.detail;
    return out;
}

void write_summary(std::ostream& out, const std::vector<TestResult>& results, const Totals& t, bool colour)
{
    size_t width = 0;
    for (const auto& r : results)
        width = std::max(width, r.name.size());
    for (const auto& r : results)
        out << summary_line(r, width, colour) << "\n";
    char totals[160];
    std::snprintf(totals, sizeof totals, "%zu tests: %zu passed, %zu failed, %zu skipped in %.1f s\n", t.total(),
                  t.passed, t.failed, t.skipped, t.seconds);
    out << totals;
}

void write_failures(std::ostream& out, const std::vector<TestResult>& results, const Rerun& rerun, bool colour)
{
    bool first = true;
    for (const auto& r : results) {
        if (r.outcome != Outcome::Fail)
            continue;
        if (first)
            out << "\nfailures:\n";
        first = false;
        out << "  " << verdict_text(r.outcome, colour) << " " << r.name << ": " << r.failure_message() << "\n";
        if (!r.log_path.empty())
            out << "    log:    " << r.log_path << "\n";
        out << "    rerun:  " << rerun.test_command(r) << "\n";
        if (std::string replay = rerun.replay_command(r); !replay.empty())
            out << "    replay: " << replay << "\n";
        else if (!r.inject.empty())  // the trap engine ran, but not one schedule: the rerun is the replay
            out << "    replay: no token: --inject " << r.inject
                << " is not one campaign schedule (nth:N:K is); the rerun repeats it on the rig clock\n";
    }
}

}  // namespace cr3rig::suite
