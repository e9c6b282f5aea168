// Where a guest image comes from: a file, or "builtin:NAME" for one linked into cr3rig.
#pragma once

#include <memory>
#include <string>

#include "vmm/boot_image.hpp"

namespace cr3rig::cli {

inline constexpr const char* kBuiltinPrefix = "builtin:";

// The guest `cr3rig sites` looks at when given none.
inline constexpr const char* kDefaultGuest = "builtin:lazytlb-buggy";

// An ELF64 or multiboot image, by content (parse_boot_image). Throws BadInput for
// unknown built-ins and unusable files.
std::unique_ptr<BootImage> load_guest(const std::string& source);

}  // namespace cr3rig::cli
