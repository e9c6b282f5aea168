// What the runner boots: an image that knows how to put itself into guest memory and
// the vCPU into its entry state. Two kinds: ELF64 (entered in long mode built by the
// VMM, elf_loader.hpp) and Multiboot v1 (entered in 32-bit protected mode with a boot
// information structure, multiboot_image.hpp). parse_boot_image() picks by content.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cr3rig {

class ElfImage;
class GuestMemory;
class Vcpu;

// A file handed to the guest at boot (a multiboot module), e.g. kvm-unit-tests'
// environment: KEY=VALUE lines.
struct BootModule {
    std::string name;  // the module's string (its command line)
    std::vector<uint8_t> bytes;
};

// Boot information for images that take it (multiboot); an ELF64 image refuses any.
struct BootArgs {
    std::string cmdline;
    std::vector<BootModule> modules;
    bool empty() const { return cmdline.empty() && modules.empty(); }
};

class BootImage {
public:
    virtual ~BootImage() = default;

    virtual std::string_view kind() const = 0;  // "ELF64", "multiboot"
    virtual const std::vector<uint8_t>& bytes() const = 0;
    // Loads the image (and its boot information) into memory and sets the vCPU's
    // registers to the entry state. Throws BadInput if the image does not fit.
    virtual void boot(GuestMemory& memory, Vcpu& vcpu, const BootArgs& args) const = 0;
    // "name+0x1f" for the function or object at a guest address, if the image knows.
    virtual std::optional<std::string> symbolize(uint64_t address) const = 0;
    // The ELF64 image behind this one, for what works on ELF64 guests only (the trap
    // engine, site scans, campaigns); nullptr for other kinds.
    virtual const ElfImage* elf64() const { return nullptr; }
};

// Picks the format by content: a valid multiboot header makes a multiboot image,
// otherwise the file must be an ELF64 x86-64 executable. Throws BadInput.
std::unique_ptr<BootImage> parse_boot_image(std::vector<uint8_t> file);

// The ELF64 image behind `image`, or BadInput naming `what` needs one
// ("cr3rig sites works on ELF64 images only: this is a multiboot image").
const ElfImage& require_elf64(const BootImage& image, std::string_view what);

// A whole file's bytes; BadInput names it as `what` ("guest image", "--env file")
// when it is missing, a directory or unreadable.
std::vector<uint8_t> read_file_bytes(const std::string& path, const std::string& what);

}  // namespace cr3rig
