#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "cli/guest_source.hpp"
#include "vmm/embedded_guests.hpp"

namespace cr3rig::cli {

void add_guests_command(CLI::App& app, int* exit_code)
{
    auto* cmd = app.add_subcommand("guests", "List the guest images built into cr3rig (run them as builtin:NAME), "
                                             "one a line: name, size, kind, what it is for");
    cmd->callback([exit_code] {
        for (const auto& g : embedded_guests()) {
            auto image = parse_boot_image({g.image.begin(), g.image.end()});
            std::printf("%s%s\t%zu bytes\t%s\t%s\n", kBuiltinPrefix, g.name.c_str(), g.image.size(),
                        std::string(image->kind()).c_str(), g.description.c_str());
        }
        *exit_code = 0;
    });
}

}  // namespace cr3rig::cli
