// Where a guest image comes from: a file, or "builtin:NAME" for one linked into cr3rig.
#pragma once

#include <string>

namespace cr3rig {
class ElfImage;
}

namespace cr3rig::cli {

inline constexpr const char* kBuiltinPrefix = "builtin:";

// The guest `cr3rig run` runs when given none. Switch the main job here.
inline constexpr const char* kDefaultGuest = "builtin:hello";

// Throws BadInput for unknown built-ins and unusable files.
ElfImage load_guest(const std::string& source);

}  // namespace cr3rig::cli
