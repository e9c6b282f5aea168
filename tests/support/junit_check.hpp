// Reads a JUnit XML report back with xmllint (Debian's libxml2-utils, installed by
// ci/install-deps.sh): is it well-formed XML, and what does an XPath expression give.
#pragma once

#include <string>

#include "harness/run_command.hpp"

namespace cr3rig::testing {

inline bool xml_well_formed(const std::string& path, std::string* errors = nullptr)
{
    auto r = run_command("xmllint --noout '" + path + "'");
    if (errors)
        *errors = r.output;
    return r.exit_code == 0;
}

// `expr` in single quotes: write string literals inside it with double quotes.
// Without the newline xmllint ends a number or string with.
inline std::string xpath(const std::string& path, const std::string& expr)
{
    std::string out = run_command("xmllint --xpath '" + expr + "' '" + path + "'").output;
    if (!out.empty() && out.back() == '\n')
        out.pop_back();
    return out;
}

}  // namespace cr3rig::testing
