#include "boot_image.hpp"

#include <elf.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "elf_loader.hpp"
#include "errors.hpp"
#include "multiboot_image.hpp"

namespace cr3rig {

std::unique_ptr<BootImage> parse_boot_image(std::vector<uint8_t> file)
{
    // The header says what the file means to be, whatever its container.
    if (find_multiboot_header(file))
        return std::make_unique<MultibootImage>(MultibootImage::parse(std::move(file)));
    if (file.size() < EI_NIDENT || std::memcmp(file.data(), ELFMAG, SELFMAG) != 0)
        throw BadInput("not an ELF image (bad magic), nor a multiboot image (no multiboot header in its first 8 KiB)");
    if (file[EI_CLASS] == ELFCLASS32)
        throw BadInput("ELF32 image without a multiboot header: cr3rig boots ELF64 x86-64 images and multiboot "
                       "(v1) images");
    return std::make_unique<ElfImage>(ElfImage::parse(std::move(file)));
}

const ElfImage& require_elf64(const BootImage& image, std::string_view what)
{
    if (const ElfImage* elf = image.elf64())
        return *elf;
    throw BadInput(std::string(what) + " works on ELF64 images only: this is a " + std::string(image.kind()) +
                   " image");
}

std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& what)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw BadInput(what + " " + path + " is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw BadInput("cannot open " + what + " " + path);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw BadInput("cannot read " + what + " " + path);
    return bytes;
}

}  // namespace cr3rig
