// The guest's text as it wrote it and as memory holds it under the rig's patches
// (traps/patched_text.hpp), on cr3-switch's real image in a bare GuestMemory.
#include <catch2/catch.hpp>
#include <vector>

#include "traps/patched_text.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/guest_memory.hpp"

using namespace cr3rig;

namespace {

struct LoadedImage {
    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/cr3-switch.elf");
    GuestMemory memory{8 << 20};

    LoadedImage()
    {
        for (const auto& s : image.segments())
            memory.write_bytes(s.gpa, image.segment_bytes(s));
    }
    std::vector<uint8_t> at(uint64_t gpa, size_t n) const
    {
        auto bytes = memory.span(gpa, n);
        return {bytes.begin(), bytes.end()};
    }
};

const std::vector<uint8_t> kOutTrap{0xe6, 0xef, 0x90};

}  // namespace

TEST_CASE("a patch replaces the site's bytes in memory, not in the guest's view, and goes")
{
    LoadedImage g;
    PatchedText text(g.image, g.memory);
    auto sites = text.scan(g.image);
    REQUIRE(sites.size() == 4);
    const Cr3Site& read = sites[0];
    uint64_t gpa = *text.physical(read.address);
    text.patch(g.memory, read, kOutTrap);
    CHECK(g.at(gpa, 3) == kOutTrap);
    CHECK(text.scan(g.image).size() == 4);  // the guest's view still has the site
    text.lift(g.memory, gpa);
    CHECK(g.at(gpa, 3) == read.bytes);
    CHECK(text.patch_at(gpa)->lifted);
    text.lower(g.memory, gpa);
    CHECK(g.at(gpa, 3) == kOutTrap);
    text.unpatch(g.memory, gpa);
    CHECK(g.at(gpa, 3) == read.bytes);
    CHECK(text.patch_at(gpa) == nullptr);
}

TEST_CASE("a guest write under a patch waits in the guest's view and shows when unpatched")
{
    LoadedImage g;
    PatchedText text(g.image, g.memory);
    const Cr3Site read = text.scan(g.image)[0];
    uint64_t gpa = *text.physical(read.address);
    text.patch(g.memory, read, kOutTrap);
    const std::vector<uint8_t> xor_eax_nop{0x31, 0xc0, 0x90};
    CHECK(text.guest_write(g.memory, gpa, xor_eax_nop));  // code: rescan
    CHECK(g.at(gpa, 3) == kOutTrap);                      // the trap stays until the rescan drops it
    CHECK(text.scan(g.image).size() == 3);                // the guest's view lost the read
    text.unpatch(g.memory, gpa);
    CHECK(g.at(gpa, 3) == xor_eax_nop);
}

TEST_CASE("a guest write beside the patches goes to memory, and off the code is not code")
{
    LoadedImage g;
    PatchedText text(g.image, g.memory);
    auto pages = text.pages();
    REQUIRE(pages.size() == 1);
    const std::vector<uint8_t> cr3_read{0x0f, 0x20, 0xd8};
    uint64_t end = pages[0].end;  // the first byte after the code
    CHECK_FALSE(text.guest_write(g.memory, end, cr3_read));
    CHECK(g.at(end, 3) == cr3_read);
    CHECK(text.scan(g.image).size() == 4);
    // Written into the code, over the CR3 write: the scan sees a second read instead.
    const Cr3Site write = text.scan(g.image)[1];
    REQUIRE(write.kind == SiteKind::Cr3Write);
    uint64_t write_gpa = *text.physical(write.address);
    CHECK(text.guest_write(g.memory, write_gpa, cr3_read));
    CHECK(g.at(write_gpa, 3) == cr3_read);
    auto now = text.scan(g.image);
    REQUIRE(now.size() == 4);
    CHECK(now[1].kind == SiteKind::Cr3Read);
    CHECK(now[1].address == write.address);
}
