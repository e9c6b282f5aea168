#include <algorithm>
#include <cstdio>

#include "suite/writers.hpp"

namespace cr3rig::suite {

std::string summary_line(const TestResult& r, size_t name_width)
{
    char time[32] = "-";
    if (!r.log_path.empty())  // it ran
        std::snprintf(time, sizeof time, "%.2f s", r.seconds);
    std::string padded_time = std::string(time);
    padded_time.insert(0, padded_time.size() < 9 ? 9 - padded_time.size() : 0, ' ');
    std::string out = std::string(name_of(r.outcome)) + "  " + r.name;
    out.append(name_width > r.name.size() ? name_width - r.name.size() : 0, ' ');
    out += "  " + padded_time;
    if (!r.detail.empty())
        out += "  " + r.detail;
    return out;
}

void write_summary(std::ostream& out, const std::vector<TestResult>& results, const Totals& t)
{
    size_t width = 0;
    for (const auto& r : results)
        width = std::max(width, r.name.size());
    for (const auto& r : results)
        out << summary_line(r, width) << "\n";
    char totals[160];
    std::snprintf(totals, sizeof totals, "%zu tests: %zu passed, %zu failed, %zu skipped in %.1f s\n", t.total(),
                  t.passed, t.failed, t.skipped, t.seconds);
    out << totals;
}

}  // namespace cr3rig::suite
