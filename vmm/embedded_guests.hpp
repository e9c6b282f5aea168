// Guest images linked into the cr3rig binary, so the main job needs no files.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cr3rig {

struct EmbeddedGuest {
    std::string name;  // "hello", "lazytlb-buggy", ...
    std::string description;  // one line for `cr3rig guests` (add_guest's DESCRIPTION in guest/CMakeLists.txt)
    std::span<const uint8_t> image;
};

const std::vector<EmbeddedGuest>& embedded_guests();
const EmbeddedGuest* find_embedded_guest(const std::string& name);

}  // namespace cr3rig
