#include "suite/guest_report.hpp"

#include <regex>

namespace cr3rig::suite {

namespace {

constexpr std::string_view kRigPrefix = "cr3rig: ";

// The end of cr3rig's verdict line: " [12.3 ms]".
const std::regex kTiming(R"( \[[0-9.]+ ms\]$)");

}  // namespace

GuestReport parse_guest_report(std::string_view log, std::string_view guest)
{
    GuestReport r;
    std::string verdict_prefix = std::string(kRigPrefix) + std::string(guest) + ": ";
    size_t pos = 0;
    while (pos < log.size()) {
        size_t end = std::min(log.find('\n', pos), log.size());
        std::string_view line = log.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.starts_with("PASS: ")) {
            r.passed++;
        } else if (line.starts_with("FAIL: ") || line.starts_with("XPASS: ")) {
            r.failed++;
            r.failures.emplace_back(line);
        } else if (line.starts_with("SKIP: ")) {
            r.skipped++;
        } else if (line.starts_with("XFAIL: ")) {
            r.expected_failures++;
        } else if (line.starts_with("SUMMARY: ")) {
            r.summary = line.substr(9);
        } else if (line.starts_with(verdict_prefix)) {
            std::string rest(line.substr(verdict_prefix.size()));  // "FAIL: reason [0.7 ms]"
            size_t colon = rest.find(": ");
            r.verdict_reason = std::regex_replace(colon == std::string::npos ? rest : rest.substr(colon + 2), kTiming, "");
            r.last_rig_message = line.substr(kRigPrefix.size());
        } else if (line.starts_with(kRigPrefix) && !line.starts_with("cr3rig: guest: ")) {
            r.last_rig_message = line.substr(kRigPrefix.size());
        }
    }
    return r;
}

std::string log_tail(std::string_view log, size_t max_lines, size_t max_bytes)
{
    size_t start = log.size();
    size_t lines = 0;
    // A final newline ends the last line; it does not start another.
    size_t scan = !log.empty() && log.back() == '\n' ? log.size() - 1 : log.size();
    while (scan > 0 && lines < max_lines) {
        size_t nl = log.rfind('\n', scan - 1);
        start = nl == std::string_view::npos ? 0 : nl + 1;
        lines++;
        if (nl == std::string_view::npos)
            break;
        scan = nl;
    }
    if (log.size() - start > max_bytes)
        start = log.size() - max_bytes;
    return std::string(log.substr(start));
}

}  // namespace cr3rig::suite
