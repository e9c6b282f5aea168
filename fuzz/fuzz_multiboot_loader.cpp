// libFuzzer target: the multiboot loader and the boot information it writes. Any
// bytes either parse (as picked by content) and load into guest memory with their
// boot information, or are refused with BadInput; nothing else may happen.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/errors.hpp"
#include "vmm/guest_memory.hpp"
#include "vmm/multiboot_image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static cr3rig::GuestMemory memory(16 << 20);  // reused: each load writes what it reads
    static const cr3rig::BootArgs args{"fuzz alpha beta=2", {{"env", {'A', '=', '1', '\n'}}, {"empty", {}}}};
    try {
        auto image = cr3rig::parse_boot_image({data, data + size});
        if (auto* multiboot = dynamic_cast<const cr3rig::MultibootImage*>(image.get()))
            (void)multiboot->load_into(memory, args);
    } catch (const cr3rig::BadInput&) {
    }
    return 0;
}
