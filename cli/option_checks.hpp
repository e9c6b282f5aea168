// Validators shared by every command's options, so that bad values get the same
// one-line error (exit 2) everywhere. CLI11 on its own turns "-1" into 2^64-1 for an
// unsigned option and lets "nan" through a Range (every comparison with NaN is false).
#pragma once

#include <CLI/CLI.hpp>

namespace cr3rig::cli {

// A whole number >= 0 written in decimal digits only: no sign, no exponent, no "nan".
CLI::Validator whole_number();

// A finite number of seconds, as a plain decimal ("0.5", "30"): no "nan" or "inf".
CLI::Validator finite_number();

// A duration as `cr3rig test --timeout` and kvm-unit-tests' manifests write it: a
// number of seconds with an optional unit s, m, h or d ("30", "30s", "2m"). The option
// is then read with parse_duration_option().
CLI::Validator duration();

// Seconds of a duration() option's text.
double parse_duration_option(const std::string& text);

}  // namespace cr3rig::cli
