#include "suite/qemu_params.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

#include "common/errors.hpp"

namespace cr3rig::suite {

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// -machine properties that ask for nothing cr3rig lacks: devices turned off that cr3rig
// never has (no PIT, HPET or VMware port), and what it always is (KVM, in-kernel irqchip).
constexpr std::array kHarmlessMachineProperties = {
    "pit=off", "hpet=off", "vmport=off", "accel=kvm", "kernel-irqchip=on",
};

std::vector<std::string> split_commas(std::string_view text)
{
    std::vector<std::string> out;
    size_t pos = 0;
    while (true) {
        size_t comma = text.find(',', pos);
        out.emplace_back(text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
        if (comma == std::string_view::npos)
            return out;
        pos = comma + 1;
    }
}

bool harmless(const std::string& property)
{
    for (const char* p : kHarmlessMachineProperties)
        if (property == p)
            return true;
    return false;
}

// Why cr3rig cannot give -machine VALUE, or empty when it asks for nothing cr3rig lacks.
std::string machine_obstacle(const std::string& value)
{
    for (const auto& item : split_commas(value)) {
        if (item.find('=') == std::string::npos || item.starts_with("type="))
            return "cr3rig emulates no QEMU machine type";
        if (!harmless(item))
            return "cr3rig takes only -machine properties that turn off what it does not have "
                   "(pit=off, hpet=off, vmport=off) or that it always is (accel=kvm, kernel-irqchip=on)";
    }
    return {};
}

std::string memory_obstacle(const std::string& value, std::optional<uint64_t>& mib)
{
    std::string_view size = value;
    if (size.starts_with("size="))
        size.remove_prefix(5);
    if (size.find(',') != std::string_view::npos)
        return "cr3rig takes a plain size, no memory hotplug slots";
    auto bytes = qemu_size_bytes(size);
    if (!bytes)
        return "not a size in QEMU's syntax";
    uint64_t rounded = *bytes / kMiB + (*bytes % kMiB ? 1 : 0);
    if (rounded < kMinGuestMemoryMiB || rounded > kMaxGuestMemoryMiB)
        return std::to_string(rounded) + " MiB, cr3rig gives a guest " + std::to_string(kMinGuestMemoryMiB) + " to " +
               std::to_string(kMaxGuestMemoryMiB) + " MiB";
    mib = rounded;
    return {};
}

}  // namespace

std::optional<uint64_t> qemu_size_bytes(std::string_view text)
{
    size_t digits = 0;
    while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
        digits++;
    std::string number(text.substr(0, digits));
    std::string_view suffix = text.substr(digits);
    if (number.empty() || suffix.size() > 1 || number.front() == '.' || number.back() == '.')
        return std::nullopt;
    double value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size())
        return std::nullopt;
    double unit = 0;
    switch (suffix.empty() ? 'M' : std::toupper(static_cast<unsigned char>(suffix.front()))) {
    case 'B': unit = 1; break;
    case 'K': unit = 1024.0; break;
    case 'M': unit = 1024.0 * 1024; break;
    case 'G': unit = 1024.0 * 1024 * 1024; break;
    case 'T': unit = 1024.0 * 1024 * 1024 * 1024; break;
    default: return std::nullopt;
    }
    double bytes = std::ceil(value * unit);
    if (bytes >= 0x1p63)
        return std::nullopt;
    return static_cast<uint64_t>(bytes);
}

QemuParams map_qemu_params(const std::vector<std::string>& words)
{
    QemuParams out;
    auto cannot = [&](std::string option, std::string why) {
        if (out.unsupported.empty()) {
            out.unsupported = std::move(option);
            out.unsupported_why = std::move(why);
        }
    };
    for (size_t i = 0; i < words.size(); i++) {
        const std::string& option = words[i];
        bool has_value = i + 1 < words.size();
        auto value = [&]() -> const std::string& {
            if (!has_value)
                throw BadInput(option + " needs a value");
            return words[++i];
        };
        if (option == "-append") {
            out.append = value();
        } else if (option == "-cpu") {
            out.cpu = value();
        } else if (option == "-m") {
            const std::string& v = value();
            std::optional<uint64_t> mib;
            std::string why = memory_obstacle(v, mib);
            if (why.empty())
                out.memory_mib = mib;
            else
                cannot("-m " + v, why);
        } else if (option == "-machine" || option == "-M") {
            const std::string& v = value();
            if (std::string why = machine_obstacle(v); !why.empty())
                cannot(option + " " + v, why);
        } else if (option == "-accel") {
            const std::string& v = value();
            if (v != "kvm")
                cannot("-accel " + v, "cr3rig runs guests on KVM, with no accelerator properties");
        } else if (option == "-enable-kvm") {
            // cr3rig always runs on KVM
        } else {
            // The value, if the option has one, names it better ("-device edu").
            bool next_is_value = has_value && !words[i + 1].starts_with("-");
            cannot(next_is_value ? option + " " + words[i + 1] : option,
                   option == "-device" ? "cr3rig adds no QEMU devices"
                                       : "cr3rig maps only -append, -cpu, -m, -machine pit=off and -enable-kvm");
            if (next_is_value)
                i++;
        }
    }
    return out;
}

}  // namespace cr3rig::suite
