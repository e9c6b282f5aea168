// ELF64 images that are well-formed piece by piece but wrong as a whole: `cr3rig run`
// refuses them with exit 2 and the reason, before it opens KVM (the KVM device is
// made unusable here: a check after opening it would exit 4 instead).
#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "harness/run_command.hpp"
#include "tests/support/usage_error.hpp"

namespace {

std::string hello_image()
{
    auto bytes = cr3rig::testing::read_file(CR3RIG_GUEST_DIR "/hello.elf");
    REQUIRE(bytes.size() > sizeof(Elf64_Ehdr));
    return bytes;
}

template <typename T>
T* at(std::string& bytes, uint64_t offset)
{
    REQUIRE(offset + sizeof(T) <= bytes.size());
    return reinterpret_cast<T*>(bytes.data() + offset);
}

// hello.elf with its second PT_LOAD moved onto the first one's guest-physical address.
std::string with_overlapping_segments()
{
    std::string bytes = hello_image();
    auto* eh = at<Elf64_Ehdr>(bytes, 0);
    REQUIRE(eh->e_phnum >= 2);
    auto* first = at<Elf64_Phdr>(bytes, eh->e_phoff);
    auto* second = at<Elf64_Phdr>(bytes, eh->e_phoff + sizeof(Elf64_Phdr));
    REQUIRE((first->p_type == PT_LOAD && second->p_type == PT_LOAD));
    second->p_paddr = first->p_paddr;
    return bytes;
}

// hello.elf with its symbol table's sh_link naming the symbol table itself.
std::string with_self_linked_symtab()
{
    std::string bytes = hello_image();
    auto* eh = at<Elf64_Ehdr>(bytes, 0);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        auto* sh = at<Elf64_Shdr>(bytes, eh->e_shoff + i * sizeof(Elf64_Shdr));
        if (sh->sh_type == SHT_SYMTAB) {
            sh->sh_link = i;
            return bytes;
        }
    }
    FAIL("hello.elf has no symbol table");
    return bytes;
}

}  // namespace

TEST_CASE("run refuses overlapping segments and a self-linked symbol table with exit 2, before KVM")
{
    auto dir = std::filesystem::temp_directory_path() / "cr3rig-cli-bad-elf-test";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "overlap.elf", std::ios::binary) << with_overlapping_segments();
    std::ofstream(dir / "self-link.elf", std::ios::binary) << with_self_linked_symtab();
    std::string no_kvm = "CR3RIG_KVM_DEVICE=/nonexistent/kvm " CR3RIG_BINARY " run ";

    for (std::string trapped : {"", "--inject none "}) {
        cr3rig::testing::check_usage_error_of(no_kvm + trapped + (dir / "overlap.elf").string(),
                                              "overlap in guest-physical memory");
        cr3rig::testing::check_usage_error_of(no_kvm + trapped + (dir / "self-link.elf").string(),
                                              "links to itself as its string table");
    }
    std::filesystem::remove_all(dir);
}
