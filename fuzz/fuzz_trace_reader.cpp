// libFuzzer target: the CR3 history reader behind `cr3rig trace`. Any bytes either
// read as a history (which the text view then lists) or are refused with BadInput.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "common/errors.hpp"
#include "report/history.hpp"
#include "report/text_listing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
    try {
        cr3rig::report::History history = cr3rig::report::read_history(in, "fuzz.jsonl");
        std::ostringstream out;
        cr3rig::report::write_text_listing(history, out);
    } catch (const cr3rig::BadInput&) {
    }
    return 0;
}
