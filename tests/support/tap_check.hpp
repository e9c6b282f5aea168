// A checker of TAP version 13 for the tests of `cr3rig test --tap`: the version line,
// one plan, test lines numbered 1..N matching the plan, SKIP/TODO directives, and
// YAML blocks ("  ---" ... "  ...") right after a test line, every line indented,
// every scalar a valid double-quoted string or a plain word or number.
#pragma once

#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <vector>

namespace cr3rig::testing {

struct TapCheck {
    std::vector<std::string> errors;  // "line 3: ..."
    long planned = -1;
    long passed = 0, failed = 0, skipped = 0, yaml_blocks = 0;
    std::vector<std::string> names;       // descriptions, in order
    std::vector<std::string> directives;  // "SKIP reason" or "", per test
    long tests() const { return passed + failed; }
    bool ok() const { return errors.empty(); }
};

namespace tap_detail {

inline bool valid_yaml_scalar(const std::string& s)
{
    if (s.empty())
        return false;
    if (s.front() == '"')
        return nlohmann::json::accept(s);  // JSON strings are YAML double-quoted scalars
    return std::regex_match(s, std::regex(R"([A-Za-z0-9_./:-]+)"));
}

}  // namespace tap_detail

inline TapCheck check_tap13(const std::string& text)
{
    static const std::regex kPlan(R"(1\.\.(\d+)(?: # .*)?)");
    static const std::regex kTest(R"((not )?ok (\d+)(?: - ((?:[^#\\]|\\.)*?))?(?: # (\w+)(?: (.*))?)?)");
    static const std::regex kYamlKey(R"(  ([a-z_]+):(?: (.*))?)");
    static const std::regex kYamlItem(R"(    - (.*))");

    TapCheck c;
    std::vector<std::string> lines;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) {
            c.errors.push_back("the last line has no newline");
            end = text.size();
        }
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    auto error = [&](size_t i, const std::string& what) { c.errors.push_back("line " + std::to_string(i + 1) + ": " + what); };
    if (lines.empty() || lines[0] != "TAP version 13") {
        c.errors.push_back("line 1: expected 'TAP version 13'");
        return c;
    }
    bool in_yaml = false, after_test = false, yaml_had_key = false;
    long last_number = 0;
    std::smatch m;
    for (size_t i = 1; i < lines.size(); i++) {
        const std::string& line = lines[i];
        if (in_yaml) {
            if (line == "  ...") {
                in_yaml = false;
                if (!yaml_had_key)
                    error(i, "empty YAML block");
            } else if (std::regex_match(line, m, kYamlKey)) {
                yaml_had_key = true;
                if (m[2].matched && !tap_detail::valid_yaml_scalar(m[2]))
                    error(i, "bad YAML scalar: " + m[2].str());
            } else if (std::regex_match(line, m, kYamlItem)) {
                if (!tap_detail::valid_yaml_scalar(m[1]))
                    error(i, "bad YAML list item: " + m[1].str());
            } else {
                error(i, "not a line of an indented YAML block: '" + line + "'");
            }
            continue;
        }
        if (line == "  ---") {
            if (!after_test)
                error(i, "a YAML block must follow a test line");
            in_yaml = true;
            yaml_had_key = false;
            after_test = false;
            c.yaml_blocks++;
            continue;
        }
        after_test = false;
        if (std::regex_match(line, m, kPlan)) {
            if (c.planned >= 0)
                error(i, "a second plan");
            if (last_number != 0 && i + 1 != lines.size())
                error(i, "the plan must come before the first test or after the last");
            c.planned = std::stol(m[1]);
        } else if (std::regex_match(line, m, kTest)) {
            long number = std::stol(m[2]);
            if (number != last_number + 1)
                error(i, "test number " + std::to_string(number) + " after " + std::to_string(last_number));
            last_number = number;
            after_test = true;
            c.names.push_back(m[3]);
            std::string directive = m[4].matched ? m[4].str() : "";
            for (auto& ch : directive)
                ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            if (m[4].matched && directive != "SKIP" && directive != "TODO")
                error(i, "unknown directive " + m[4].str());
            c.directives.push_back(m[4].matched ? directive + (m[5].matched ? " " + m[5].str() : "") : "");
            if (directive == "SKIP")
                c.skipped++;
            (m[1].matched ? c.failed : c.passed)++;
        } else if (line.starts_with("Bail out!")) {
            error(i, "bailed out");
        } else if (!line.starts_with("#")) {
            error(i, "not a TAP line: '" + line + "'");
        }
    }
    if (in_yaml)
        c.errors.push_back("unterminated YAML block");
    if (c.planned < 0)
        c.errors.push_back("no plan");
    else if (c.planned != last_number)
        c.errors.push_back("plan 1.." + std::to_string(c.planned) + " but " + std::to_string(last_number) + " tests");
    return c;
}

}  // namespace cr3rig::testing
