#include <cstdio>

#include "suite/writers.hpp"
#include "suite/xml_text.hpp"

namespace cr3rig::suite {

namespace {

std::string seconds(double s)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s);
    return buf;
}

std::string counts(const Totals& t)
{
    return "tests=\"" + std::to_string(t.total()) + "\" failures=\"" + std::to_string(t.failed) +
           "\" errors=\"0\" skipped=\"" + std::to_string(t.skipped) + "\" time=\"" + seconds(t.seconds) + "\"";
}

// The body of a <failure>: why, the guest's own FAIL lines, and where the log is.
std::string failure_text(const TestResult& r)
{
    std::string text = r.detail + "\n";
    for (const auto& f : r.guest_failures)
        text += f + "\n";
    if (r.exit_code)
        text += "cr3rig run exit code " + std::to_string(*r.exit_code) + "\n";
    if (!r.log_path.empty())
        text += "log: " + r.log_path + "\n";
    return text;
}

}  // namespace

void write_junit(std::ostream& out, const std::string& suite_name, const std::vector<TestResult>& results,
                 const Totals& totals, const std::string& interruption)
{
    std::string suite = xml_escape(suite_name, true);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out << "<testsuites name=\"cr3rig test\" " << counts(totals) << ">\n";
    out << "  <testsuite name=\"" << suite << "\" " << counts(totals) << ">\n";
    for (const auto& r : results) {
        out << "    <testcase name=\"" << xml_escape(r.name, true) << "\" classname=\"" << suite << "\" time=\""
            << seconds(r.seconds) << "\">\n";
        if (r.outcome == Outcome::Skip)
            out << "      <skipped message=\"" << xml_escape(r.detail, true) << "\"/>\n";
        if (r.outcome == Outcome::Fail)
            out << "      <failure message=\"" << xml_escape(r.failure_message(), true) << "\" type=\""
                << xml_escape(r.cause, true) << "\">" << xml_escape(failure_text(r)) << "</failure>\n";
        if (!r.log_tail.empty())
            out << "      <system-out>" << xml_escape(r.log_tail) << "</system-out>\n";
        out << "    </testcase>\n";
    }
    if (!interruption.empty())
        out << "    <system-err>" << xml_escape(interruption) << "</system-err>\n";
    out << "  </testsuite>\n";
    out << "</testsuites>\n";
}

}  // namespace cr3rig::suite
