#include "vmm/page_walk.hpp"

#include <algorithm>

#include "vmm/guest_memory.hpp"

namespace cr3rig {

namespace {
constexpr uint64_t kPresent = 1, kHuge = 1u << 7;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;
}  // namespace

std::optional<uint64_t> translate(const GuestMemory& memory, uint64_t cr3, uint64_t gva)
{
    uint64_t table = cr3 & kAddrMask;
    for (int level = 4; level >= 1; level--) {
        int shift = 12 + 9 * (level - 1);
        uint64_t entry_gpa = table + ((gva >> shift) & 511) * 8;
        if (!memory.contains(entry_gpa, 8))
            return std::nullopt;
        uint64_t entry = memory.read<uint64_t>(entry_gpa);
        if (!(entry & kPresent))
            return std::nullopt;
        if (level == 1 || ((level == 2 || level == 3) && (entry & kHuge))) {
            uint64_t page_mask = (1ull << shift) - 1;
            return ((entry & kAddrMask) & ~page_mask) | (gva & page_mask);
        }
        table = entry & kAddrMask;
    }
    return std::nullopt;
}

std::optional<uint64_t> read_guest_u64(const GuestMemory& memory, uint64_t cr3, uint64_t gva)
{
    // Eight bytes may straddle two pages: translate each end.
    auto first = translate(memory, cr3, gva), last = translate(memory, cr3, gva + 7);
    if (!first || !last || !memory.contains(*first, 1) || !memory.contains(*last, 1))
        return std::nullopt;
    if (*last == *first + 7)
        return memory.read<uint64_t>(*first);
    uint64_t value = 0;
    for (int i = 0; i < 8; i++) {
        auto pa = translate(memory, cr3, gva + i);
        if (!pa || !memory.contains(*pa, 1))
            return std::nullopt;
        value |= uint64_t{memory.read<uint8_t>(*pa)} << (8 * i);
    }
    return value;
}

std::optional<std::vector<uint8_t>> read_guest_bytes(const GuestMemory& memory, uint64_t cr3, uint64_t gva,
                                                     size_t len)
{
    std::vector<uint8_t> out;
    out.reserve(len);
    while (out.size() < len) {
        uint64_t at = gva + out.size();
        size_t chunk = std::min<uint64_t>(len - out.size(), 4096 - (at & 4095));  // to the page's end
        auto pa = translate(memory, cr3, at);
        if (!pa || !memory.contains(*pa, chunk))
            return std::nullopt;
        auto bytes = memory.span(*pa, chunk);
        out.insert(out.end(), bytes.begin(), bytes.end());
    }
    return out;
}

std::optional<std::string> read_guest_cstring(const GuestMemory& memory, uint64_t cr3, uint64_t gva, size_t max)
{
    std::string out;
    for (size_t i = 0; i < max; i++) {
        auto pa = translate(memory, cr3, gva + i);
        if (!pa || !memory.contains(*pa, 1))
            return std::nullopt;
        char c = static_cast<char>(memory.read<uint8_t>(*pa));
        if (!c)
            break;
        out += c;
    }
    return out;
}

}  // namespace cr3rig
