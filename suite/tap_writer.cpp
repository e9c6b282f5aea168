#include <nlohmann/json.hpp>

#include <cmath>

#include "suite/guest_report.hpp"
#include "suite/writers.hpp"

namespace cr3rig::suite {

namespace {

// In a test line '#' starts a directive, so a description escapes it (and '\').
std::string tap_description(const std::string& name)
{
    std::string out;
    for (char c : name) {
        if (c == '#' || c == '\\')
            out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

std::string one_line(std::string text)
{
    for (char& c : text)
        if (c == '\n' || c == '\r')
            c = ' ';
    return text;
}

// A YAML double-quoted scalar: JSON's string syntax is one (YAML 1.2 is a superset of
// JSON); bytes that are not UTF-8 become U+FFFD instead of breaking the document.
std::string yaml_string(const std::string& text)
{
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = std::min(text.find('\n', pos), text.size());
        out.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

void write_failure_yaml(std::ostream& out, const TestResult& r)
{
    out << "  ---\n";
    out << "  message: " << yaml_string(r.failure_message()) << "\n";
    out << "  severity: fail\n";
    out << "  cause: " << r.cause << "\n";
    if (r.detail != r.failure_message())
        out << "  detail: " << yaml_string(r.detail) << "\n";
    if (r.exit_code)
        out << "  exit_code: " << *r.exit_code << "\n";
    out << "  duration_ms: " << std::llround(r.seconds * 1000) << "\n";
    if (!r.log_path.empty())
        out << "  log: " << yaml_string(r.log_path) << "\n";
    if (!r.guest_failures.empty()) {
        out << "  guest_failures:\n";
        for (const auto& f : r.guest_failures)
            out << "    - " << yaml_string(f) << "\n";
    }
    if (!r.log_tail.empty()) {
        out << "  log_tail:\n";
        for (const auto& line : lines_of(log_tail(r.log_tail, 20)))
            out << "    - " << yaml_string(line) << "\n";
    }
    out << "  ...\n";
}

}  // namespace

void write_tap(std::ostream& out, const std::vector<TestResult>& results, const std::string& interruption)
{
    out << "TAP version 13\n";
    out << "1.." << results.size() << "\n";
    size_t n = 0;
    for (const auto& r : results) {
        n++;
        out << (r.outcome == Outcome::Fail ? "not ok " : "ok ") << n << " - " << tap_description(r.name);
        if (r.outcome == Outcome::Skip)
            out << " # SKIP " << one_line(r.detail);
        out << "\n";
        if (r.outcome == Outcome::Fail)
            write_failure_yaml(out, r);
    }
    if (!interruption.empty())  // not "Bail out!": the tests listed did run to an end
        out << "# " << one_line(interruption) << "\n";
}

}  // namespace cr3rig::suite
