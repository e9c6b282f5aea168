// libFuzzer target: the ELF64 loader. Any bytes either parse into an image whose
// segments and symbols lie inside the file and guest memory bounds, or are refused
// with BadInput; nothing else may happen (no crash, no other exception, no UB).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/errors.hpp"
#include "vmm/elf_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    try {
        cr3rig::ElfImage image = cr3rig::ElfImage::parse({data, data + size});
        for (const auto& segment : image.segments())
            (void)image.segment_bytes(segment);  // must stay inside the file
        for (const auto& symbol : image.symbols())
            (void)image.symbolize(symbol.value);
    } catch (const cr3rig::BadInput&) {
    }
    return 0;
}
