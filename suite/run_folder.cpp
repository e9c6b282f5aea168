#include "suite/run_folder.hpp"

#include <string>
#include <system_error>

#include "common/errors.hpp"

namespace cr3rig::suite {

namespace {

constexpr int kMaxSameSecond = 1000;  // runs started in one second that get a folder each

// Replaces parent/latest atomically (a new link renamed over the old one), so that a
// reader never finds it missing; a regular file or folder named latest is left alone.
void point_latest_at(const std::filesystem::path& parent, const std::filesystem::path& folder)
{
    std::filesystem::path latest = parent / "latest";
    std::error_code ec;
    auto status = std::filesystem::symlink_status(latest, ec);
    if (!ec && std::filesystem::exists(status) && !std::filesystem::is_symlink(status))
        throw BadInput("cannot point " + latest.string() + " at the new run: it exists and is not a symbolic link");
    std::filesystem::path temporary = parent / (".latest-" + folder.filename().string());
    std::filesystem::create_directory_symlink(folder.filename(), temporary, ec);
    if (!ec)
        std::filesystem::rename(temporary, latest, ec);
    if (ec) {
        std::filesystem::remove(temporary);
        throw BadInput("cannot point " + latest.string() + " at the new run: " + ec.message());
    }
}

}  // namespace

std::filesystem::path new_run_folder(const std::filesystem::path& parent, std::time_t now)
{
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec)
        throw BadInput("cannot make the log directory " + parent.string() + ": " + ec.message());
    std::tm local{};
    ::localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "run-%Y%m%d-%H%M%S", &local);
    for (int n = 1; n <= kMaxSameSecond; n++) {
        std::string name = stamp;
        if (n > 1) {  // appended piece by piece: g++ 12 -O3 warns (-Wrestrict, a false positive) on "-" + string
            name += '-';
            name += std::to_string(n);
        }
        std::filesystem::path folder = parent / name;
        // create_directory is false for a folder that exists: an earlier run's, kept.
        if (std::filesystem::create_directory(folder, ec)) {
            point_latest_at(parent, folder);
            return folder;
        }
        if (ec)
            throw BadInput("cannot make the log directory " + folder.string() + ": " + ec.message());
    }
    throw BadInput("cannot make a new log directory in " + parent.string() + ": " + std::to_string(kMaxSameSecond) +
                   " runs this second already");
}

}  // namespace cr3rig::suite
