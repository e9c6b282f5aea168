#include "suite/xml_text.hpp"

#include <cstdint>

namespace cr3rig::suite {

namespace {

void append_utf8(std::string& out, uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

constexpr uint32_t kReplacement = 0xFFFD;

// Decodes one UTF-8 sequence at text[i]; on malformed, overlong or surrogate input
// returns U+FFFD and consumes one byte.
uint32_t decode(std::string_view text, size_t& i)
{
    auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    uint8_t b = byte(i);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > text.size()) {
        i++;
        return kReplacement;
    }
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            i++;
            return kReplacement;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        i++;
        return kReplacement;
    }
    i += len;
    return cp;
}

}  // namespace

std::string xml_escape(std::string_view text, bool attribute)
{
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        uint32_t cp = decode(text, i);
        switch (cp) {
        case '&': out += "&amp;"; continue;
        case '<': out += "&lt;"; continue;
        case '>': out += "&gt;"; continue;
        case '"': out += attribute ? "&quot;" : "\""; continue;
        case '\t': out += attribute ? "&#9;" : "\t"; continue;
        case '\n': out += attribute ? "&#10;" : "\n"; continue;
        case '\r': out += "&#13;"; continue;  // a raw CR would be normalized away
        default: break;
        }
        if (cp < 0x20)
            cp = 0x2400 + cp;  // the control picture: NUL -> U+2400, ESC -> U+241B
        else if (cp == 0xFFFE || cp == 0xFFFF)
            cp = kReplacement;
        append_utf8(out, cp);
    }
    return out;
}

}  // namespace cr3rig::suite
