// Whether some whole line of a text matches a regex. One line at a time: libstdc++'s
// regex recurses per character, and a pattern like [\s\S]* over a whole output can
// overflow the stack (it did under AddressSanitizer).
#pragma once

#include <regex>
#include <sstream>
#include <string>

namespace cr3rig::testing {

inline bool has_line_matching(const std::string& text, const std::string& line_regex)
{
    std::regex re(line_regex);
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (std::regex_match(line, re))
            return true;
    return false;
}

}  // namespace cr3rig::testing
