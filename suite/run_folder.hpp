// Where one `cr3rig test` run keeps its logs: a folder of its own under --logs, so
// that no run overwrites an earlier one's results. LOGS/run-YYYYMMDD-HHMMSS (-2, -3...
// when that exists already), and LOGS/latest, a symbolic link to the newest.
#pragma once

#include <ctime>
#include <filesystem>

namespace cr3rig::suite {

// Makes `parent` if needed, then a new folder in it named for `now` (local time),
// and points parent/latest at it. Throws BadInput when either cannot be made.
std::filesystem::path new_run_folder(const std::filesystem::path& parent, std::time_t now);

}  // namespace cr3rig::suite
