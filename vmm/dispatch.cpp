#include "vmm/dispatch.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "common/hex.hpp"
#include "vmm/devices/device.hpp"

namespace cr3rig {

namespace {

std::string describe(const Device& device, uint64_t base, uint64_t len)
{
    return std::string(device.name()) + " [" + hex(base) + ", " + hex(base + len) + ")";
}

std::string describe(const UnclaimedAccess& a)
{
    const char* what = a.mmio ? (a.write ? "write" : "read") : (a.write ? "out" : "in");
    return std::string(what) + " " + hex(a.address) + " (" + std::to_string(a.size) +
           (a.size == 1 ? " byte)" : " bytes)");
}

}  // namespace

void Unclaimed::note(const UnclaimedAccess& access)
{
    (access.mmio ? mmio : ports)++;
    if (first.size() < kRemembered && std::find(first.begin(), first.end(), access) == first.end())
        first.push_back(access);
}

std::string describe_unclaimed(const Unclaimed& unclaimed)
{
    std::string out;
    uint64_t named = 0;
    for (const auto& a : unclaimed.first) {
        out += (out.empty() ? "" : ", ") + describe(a);
        // Each remembered access happened at least once; the rest are repeats or others.
        named++;
    }
    if (unclaimed.total() > named)
        out += " and " + std::to_string(unclaimed.total() - named) + " more";
    if (!out.empty())
        out += " (no device claims them; they read all-ones)";
    return out;
}

void PortBus::attach(Device& device)
{
    Claims claims = device.claims();
    size_t before = ranges_.size(), mmio_before = mmio_.size();
    try {
        for (const PortRange& p : claims.ports) {
            if (p.len == 0 || p.base + p.len > 0x10000)
                throw std::logic_error(describe(device, p.base, p.len) + ": not a port range");
            for (const auto& r : ranges_)
                if (p.base < r.base + r.len && r.base < p.base + p.len)
                    throw std::logic_error("port " + hex(std::max(p.base, r.base)) + " claimed twice: by " +
                                           describe(*r.device, r.base, r.len) + " and by " +
                                           describe(device, p.base, p.len));
            ranges_.push_back({p.base, p.len, &device});
        }
        for (const MmioRange& m : claims.mmio) {
            if (m.len == 0 || m.base + m.len < m.base)
                throw std::logic_error(describe(device, m.base, m.len) + ": not an MMIO range");
            for (const auto& r : mmio_)
                if (m.base < r.base + r.len && r.base < m.base + m.len)
                    throw std::logic_error("guest-physical address " + hex(std::max(m.base, r.base)) +
                                           " claimed twice: by " + describe(*r.device, r.base, r.len) + " and by " +
                                           describe(device, m.base, m.len));
            mmio_.push_back({m.base, m.len, &device});
        }
    } catch (...) {
        ranges_.resize(before);  // all of the device or none of it
        mmio_.resize(mmio_before);
        throw;
    }
}

Device* PortBus::find_mmio(uint64_t gpa) const
{
    for (const auto& r : mmio_)
        if (gpa >= r.base && gpa - r.base < r.len)
            return r.device;
    return nullptr;
}

Device* PortBus::find(uint16_t port) const
{
    for (const auto& r : ranges_)
        if (port >= r.base && port - r.base < r.len)
            return r.device;
    return nullptr;
}

ExitAction dispatch(const VmExit& exit, PortBus& bus, bool deadline_passed)
{
    switch (exit.kind) {
    case ExitKind::Io:
        if (Device* device = bus.find(exit.io.port))
            return device->io(exit.io);
        bus.note_unclaimed({false, exit.io.out, exit.io.port, exit.io.size});
        if (!exit.io.out)
            std::memset(exit.io.data.data(), 0xff, exit.io.data.size());
        return std::nullopt;
    case ExitKind::Mmio:
        // The LAPIC and IOAPIC live in the kernel; what reaches user space is a
        // device's or nobody's (reads float high).
        if (Device* device = bus.find_mmio(exit.mmio.gpa))
            return device->mmio(exit.mmio);
        bus.note_unclaimed({true, exit.mmio.write, exit.mmio.gpa, static_cast<uint8_t>(exit.mmio.data.size())});
        if (!exit.mmio.write)
            std::memset(exit.mmio.data.data(), 0xff, exit.mmio.data.size());
        return std::nullopt;
    case ExitKind::Hlt:    // only without the in-kernel irqchip; resume after the hlt
    case ExitKind::Debug:  // the trap engine (traps/) consumes these; nothing to do here
        return std::nullopt;
    case ExitKind::Interrupted:
        if (deadline_passed)
            return Stop{VerdictKind::Timeout, "deadline reached, vCPU kicked out by the watchdog", std::nullopt};
        return std::nullopt;  // some other signal: just resume
    case ExitKind::Shutdown:
        return Stop{VerdictKind::Crash, "triple fault (KVM_EXIT_SHUTDOWN)", std::nullopt};
    case ExitKind::InternalError:
        return Stop{VerdictKind::Crash,
                    "KVM internal error, suberror " + std::to_string(exit.detail) +
                        (exit.detail == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)" : ""),
                    std::nullopt};
    case ExitKind::FailEntry:
        return Stop{VerdictKind::Crash, "VM entry failed, hardware reason " + hex(exit.detail), std::nullopt};
    case ExitKind::SystemEvent:
        return Stop{VerdictKind::Crash, "guest asked for a system event (type " + std::to_string(exit.detail) + ": " +
                                        (exit.detail == KVM_SYSTEM_EVENT_RESET ? "reset" : "shutdown/other") + ")",
                    std::nullopt};
    case ExitKind::Unknown:
        break;
    }
    return Stop{VerdictKind::Crash, "unhandled KVM exit reason " + std::to_string(exit.raw_reason), std::nullopt};
}

void ExitStats::count(const VmExit& exit)
{
    by_kind_[static_cast<size_t>(exit.kind)]++;
    if (exit.kind == ExitKind::Io)
        by_port_[exit.io.port]++;
}

uint64_t ExitStats::total() const { return std::accumulate(by_kind_.begin(), by_kind_.end(), uint64_t{0}); }

std::string ExitStats::format() const
{
    std::string out = "exits: " + std::to_string(total()) + " total\n";
    for (size_t k = 0; k < kExitKindCount; k++) {
        if (by_kind_[k] == 0)
            continue;
        char line[64];
        std::snprintf(line, sizeof line, "  %-16s %10llu\n", name_of(static_cast<ExitKind>(k)),
                      static_cast<unsigned long long>(by_kind_[k]));
        out += line;
    }
    for (const auto& [port, n] : by_port_) {
        char line[64];
        std::snprintf(line, sizeof line, "    port 0x%04x   %10llu\n", port, static_cast<unsigned long long>(n));
        out += line;
    }
    return out;
}

}  // namespace cr3rig
