// Escaping for text that comes from the guest (task names, symbols) or the user (file
// names) on its way into HTML and SVG.
#pragma once

#include <cstddef>
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

// A guest's strings (task names, symbols, finding summaries) can be of any length: the
// page shows at most this many bytes of one, so its size stays bounded for any input.
inline constexpr size_t kMaxTextBytes = 200;
inline constexpr size_t kMaxSummaryBytes = 1000;

// `s` cut to at most `most` bytes (not inside a UTF-8 character) and "…" if it was cut.
inline std::string clip_text(const std::string& s, size_t most = kMaxTextBytes)
{
    if (s.size() <= most)
        return s;
    size_t n = most;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
        n--;
    return s.substr(0, n) + "\u2026";
}

inline std::string escape_clipped(const std::string& s, size_t most = kMaxTextBytes)
{
    return escape_html(clip_text(s, most));
}

}  // namespace cr3rig::report
