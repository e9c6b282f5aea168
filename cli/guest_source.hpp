// Where a guest image comes from: a file, or "builtin:NAME" for one linked into cr3rig.
#pragma once

#include <string>

namespace cr3rig {
class ElfImage;
}

namespace cr3rig::cli {

inline constexpr const char* kBuiltinPrefix = "builtin:";

// The guest `cr3rig sites` looks at when given none.
inline constexpr const char* kDefaultGuest = "builtin:lazytlb-buggy";

// Throws BadInput for unknown built-ins and unusable files.
ElfImage load_guest(const std::string& source);

}  // namespace cr3rig::cli
