#include "vmm/multiboot_info.hpp"

#include <algorithm>
#include <vector>

#include "common/errors.hpp"
#include "common/hex.hpp"
#include "cr3rig/multiboot.h"
#include "vmm/guest_memory.hpp"

namespace cr3rig {

namespace {

constexpr const char* kLoaderName = "cr3rig";
constexpr uint64_t kFourGiB = 1ull << 32;

// Hands out guest memory upwards from a base, each piece aligned, all of it checked
// against the end of guest memory (and 4 GiB) before anything is written.
class Placer {
public:
    Placer(GuestMemory& memory, uint64_t base) : memory_(memory), base_(base), next_(base) {}

    uint32_t reserve(uint64_t size, uint64_t align)
    {
        uint64_t at = (next_ + align - 1) / align * align;
        uint64_t limit = std::min(memory_.size(), kFourGiB);
        if (at < next_ || at > limit || size > limit - at)
            throw BadInput("the multiboot boot information and modules (" + std::to_string(at + size - base_) +
                           " bytes from " + hex(base_) + ", after the image) do not fit in " +
                           std::to_string(memory_.size() >> 20) + " MiB of guest memory");
        next_ = at + size;
        return static_cast<uint32_t>(at);
    }

    uint32_t put_string(const std::string& text)
    {
        uint32_t at = reserve(text.size() + 1, 1);
        memory_.write_bytes(at, {reinterpret_cast<const uint8_t*>(text.c_str()), text.size() + 1});
        return at;
    }

private:
    GuestMemory& memory_;
    uint64_t base_, next_;
};

cr3rig_mb_mmap_entry map_entry(uint64_t base, uint64_t length, uint32_t type)
{
    return {sizeof(cr3rig_mb_mmap_entry) - sizeof(uint32_t), base, length, type};
}

// Guest RAM is one slot from 0 to its size: low memory, the legacy hole, upper memory.
std::vector<cr3rig_mb_mmap_entry> memory_map(uint64_t ram_size)
{
    std::vector<cr3rig_mb_mmap_entry> map{map_entry(0, std::min(ram_size, kLowMemoryEnd), CR3RIG_MB_MEMORY_AVAILABLE)};
    if (ram_size > kLowMemoryEnd)
        map.push_back(map_entry(kLowMemoryEnd, std::min(ram_size, kUpperMemoryStart) - kLowMemoryEnd,
                                CR3RIG_MB_MEMORY_RESERVED));
    if (ram_size > kUpperMemoryStart)
        map.push_back(map_entry(kUpperMemoryStart, ram_size - kUpperMemoryStart, CR3RIG_MB_MEMORY_AVAILABLE));
    return map;
}

}  // namespace

uint32_t write_multiboot_info(GuestMemory& memory, uint64_t base, const BootArgs& args, bool page_align_modules)
{
    Placer place(memory, base);
    auto map = memory_map(memory.size());

    cr3rig_mb_info info{};
    uint32_t info_gpa = place.reserve(sizeof info, 8);
    info.flags = CR3RIG_MBI_MEMORY | CR3RIG_MBI_CMDLINE | CR3RIG_MBI_MODULES | CR3RIG_MBI_MEMORY_MAP |
                 CR3RIG_MBI_LOADER_NAME;
    info.mem_lower = static_cast<uint32_t>(std::min(memory.size(), kLowMemoryEnd) / 1024);
    info.mem_upper = static_cast<uint32_t>(
        (std::min(memory.size(), kFourGiB) - std::min(memory.size(), kUpperMemoryStart)) / 1024);
    info.mmap_length = static_cast<uint32_t>(map.size() * sizeof(cr3rig_mb_mmap_entry));
    info.mmap_addr = place.reserve(info.mmap_length, 8);
    for (size_t i = 0; i < map.size(); i++)
        memory.write(info.mmap_addr + i * sizeof(cr3rig_mb_mmap_entry), map[i]);

    info.mods_count = static_cast<uint32_t>(args.modules.size());
    info.mods_addr = place.reserve(args.modules.size() * sizeof(cr3rig_mb_module), 8);
    info.cmdline = place.put_string(args.cmdline);
    info.boot_loader_name = place.put_string(kLoaderName);
    for (size_t i = 0; i < args.modules.size(); i++) {
        const BootModule& m = args.modules[i];
        cr3rig_mb_module entry{};
        entry.string = place.put_string(m.name);
        entry.mod_start = place.reserve(m.bytes.size(), page_align_modules ? 4096 : 8);
        entry.mod_end = entry.mod_start + static_cast<uint32_t>(m.bytes.size());
        memory.write_bytes(entry.mod_start, m.bytes);
        memory.write(info.mods_addr + i * sizeof(cr3rig_mb_module), entry);
    }
    memory.write(info_gpa, info);
    return info_gpa;
}

}  // namespace cr3rig
