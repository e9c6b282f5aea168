// The kvm-unit-tests data the tests and the benchmark host: where the binaries, their
// unittests.cfg and QEMU's results on them (qemu-baseline.tsv) are ($CR3RIG_KUT_DIR,
// else the shared folder beside the source tree, ../shared/kvm-unit-tests), and the
// baseline's rows. Test data, not part of the product. Header-only.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "harness/run_command.hpp"

namespace cr3rig::testing {

inline std::filesystem::path kut_dir()
{
    if (const char* env = std::getenv("CR3RIG_KUT_DIR"); env && *env)
        return env;
    return std::filesystem::path(CR3RIG_SOURCE_DIR).parent_path() / "shared" / "kvm-unit-tests";
}

// Why the kvm-unit-tests data cannot be used here, or nullopt.
inline std::optional<std::string> kut_dir_missing()
{
    auto dir = kut_dir();
    for (const char* file : {"unittests.cfg", "qemu-baseline.tsv"}) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(dir / file, ec))
            return "no " + (dir / file).string() + " (set CR3RIG_KUT_DIR to the kvm-unit-tests folder)";
    }
    return std::nullopt;
}

struct BaselineEntry {
    std::string name, result, detail;
    double seconds = 0;  // QEMU's wall time; 0 when it was not started ("-")
};

// qemu-baseline.tsv: comment lines start with '#'; then name, result, seconds, detail.
inline std::vector<BaselineEntry> read_baseline(const std::filesystem::path& path)
{
    std::vector<BaselineEntry> out;
    std::istringstream in(read_file(path.string()));
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() == '#')
            continue;
        std::vector<std::string> fields;
        std::istringstream cells(line);
        for (std::string cell; std::getline(cells, cell, '\t');)
            fields.push_back(cell);
        if (fields.size() >= 2)
            out.push_back({fields[0], fields[1], fields.size() >= 4 ? fields[3] : "",
                           fields.size() >= 3 ? std::atof(fields[2].c_str()) : 0});
    }
    return out;
}

}  // namespace cr3rig::testing
