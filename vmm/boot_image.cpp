#include "vmm/boot_image.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/errors.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/multiboot_image.hpp"

namespace cr3rig {

namespace {
// No guest image comes near this; a larger file is a mistake, not a guest.
constexpr off_t kMaxFileBytes = off_t{1} << 30;
}  // namespace

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
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw BadInput("cannot open " + what + " " + path + ": " + std::strerror(errno));
    std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
    // A device or a FIFO could be endless (/dev/zero) or block forever (a pipe nobody
    // writes): only regular files are images.
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        throw BadInput(what + " " + path + " is not a regular file");
    if (st.st_size > kMaxFileBytes)
        throw BadInput(what + " " + path + " is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
    std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw BadInput("cannot read " + what + " " + path + ": " + std::strerror(errno));
        if (n == 0)
            break;  // shrank while we read: take what is there
        done += static_cast<size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

}  // namespace cr3rig
