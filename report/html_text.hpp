// Escaping for text that comes from the guest (task names, symbols) or the user (file
// names) on its way into HTML and SVG.
#pragma once

#include <string>

namespace cr3rig::report {

inline std::string escape_html(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

}  // namespace cr3rig::report
