// libFuzzer target: the unittests.cfg parser of `cr3rig test` (with its shell-word
// splitting, durations and hostability rules). Any text either parses or is refused
// with BadInput.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/errors.hpp"
#include "suite/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        auto manifest = cr3rig::suite::parse_manifest({reinterpret_cast<const char*>(data), size}, "fuzz.cfg");
        for (const auto& entry : manifest.entries)
            (void)entry.in_group("nodefault");
    } catch (const cr3rig::BadInput&) {
    }
    return 0;
}
