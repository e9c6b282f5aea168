#include "cli/guest_source.hpp"

#include "common/errors.hpp"
#include "vmm/embedded_guests.hpp"

namespace cr3rig::cli {

std::unique_ptr<BootImage> load_guest(const std::string& source)
{
    std::string prefix = kBuiltinPrefix;
    if (source.rfind(prefix, 0) != 0)
        return parse_boot_image(read_file_bytes(source, "guest image"));
    std::string name = source.substr(prefix.size());
    const EmbeddedGuest* guest = find_embedded_guest(name);
    if (!guest)
        throw BadInput("no built-in guest named '" + name + "' (cr3rig guests lists them)");
    return parse_boot_image({guest->image.begin(), guest->image.end()});
}

}  // namespace cr3rig::cli
