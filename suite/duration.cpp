#include "suite/duration.hpp"

#include <charconv>
#include <cmath>
#include <string>

#include "common/errors.hpp"

namespace cr3rig::suite {

namespace {

constexpr double kMaxSeconds = 86400;

[[noreturn]] void bad(std::string_view text, const char* why)
{
    throw BadInput("bad timeout '" + std::string(text) + "': " + why);
}

}  // namespace

double parse_duration(std::string_view text)
{
    double value = 0;
    // from_chars, not strtod: no locale, no leading whitespace, no "inf" or "0x".
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
    if (ec != std::errc() || end == text.data() || std::isnan(value))
        bad(text, "expected seconds, optionally with s, m, h or d");
    std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
    if (scale == 0)
        bad(text, "the unit must be s, m, h or d");
    double seconds = value * scale;
    if (!(seconds > 0))
        bad(text, "every test needs a deadline, so it must be more than 0");
    if (seconds > kMaxSeconds)
        bad(text, "at most one day");
    return seconds;
}

}  // namespace cr3rig::suite
