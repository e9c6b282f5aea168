#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "cli/guest_source.hpp"
#include "traps/cr3_site.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig::cli {

namespace {

std::string hex_bytes(const std::vector<uint8_t>& bytes)
{
    std::string out;
    for (uint8_t b : bytes) {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%s%02x", out.empty() ? "" : " ", b);
        out += buf;
    }
    return out;
}

}  // namespace

void add_sites_command(CLI::App& app, int* exit_code)
{
    auto guest = std::make_shared<std::string>(kDefaultGuest);
    auto* cmd = app.add_subcommand("sites", "List the CR3 read/write and TLB-flush sites in a guest's code");
    cmd->add_option("guest", *guest, "Guest ELF64 image or builtin:NAME")->capture_default_str();
    cmd->callback([guest, exit_code] {
        auto image = load_guest(*guest);
        auto sites = scan_cr3_sites(require_elf64(*image, "cr3rig sites"));
        std::printf("%-18s %-28s %-10s %-5s %s\n", "address", "symbol", "kind", "reg", "bytes");
        for (const auto& s : sites)
            std::printf("0x%016llx %-28s %-10s %-5s %s\n", static_cast<unsigned long long>(s.address),
                        s.symbol.empty() ? "?" : s.symbol.c_str(), name_of(s.kind), s.reg.empty() ? "-" : s.reg.c_str(),
                        hex_bytes(s.bytes).c_str());
        std::printf("%zu sites\n", sites.size());
        *exit_code = 0;
    });
}

}  // namespace cr3rig::cli
