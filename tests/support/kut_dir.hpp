// Where the kvm-unit-tests binaries, their unittests.cfg and QEMU's results on them
// (qemu-baseline.tsv) are: $CR3RIG_KUT_DIR, else the shared folder beside the source
// tree (../shared/kvm-unit-tests). Test data, not part of the product.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

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

}  // namespace cr3rig::testing
