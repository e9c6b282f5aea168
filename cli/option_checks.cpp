#include "cli/option_checks.hpp"

#include <charconv>
#include <cmath>
#include <string>

#include "common/errors.hpp"
#include "suite/duration.hpp"

namespace cr3rig::cli {

CLI::Validator whole_number()
{
    return CLI::Validator(
        [](std::string& text) -> std::string {
            if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
                return "'" + text + "' is not a whole number >= 0";
            return {};
        },
        "UINT");
}

CLI::Validator finite_number()
{
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double value = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
            if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
                return "'" + text + "' is not a finite number";
            return {};
        },
        "NUMBER");
}

CLI::Validator duration()
{
    return CLI::Validator(
        [](std::string& text) -> std::string {
            try {
                suite::parse_duration(text);
            } catch (const BadInput& e) {
                return e.what();
            }
            return {};
        },
        "DURATION");
}

double parse_duration_option(const std::string& text)
{
    return suite::parse_duration(text);
}

}  // namespace cr3rig::cli
