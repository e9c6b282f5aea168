#include "vmm/vm_exit.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cr3rig {

const char* name_of(ExitKind kind)
{
    switch (kind) {
    case ExitKind::Io: return "io";
    case ExitKind::Mmio: return "mmio";
    case ExitKind::Hlt: return "hlt";
    case ExitKind::Debug: return "debug";
    case ExitKind::Shutdown: return "shutdown";
    case ExitKind::InternalError: return "internal-error";
    case ExitKind::FailEntry: return "fail-entry";
    case ExitKind::Interrupted: return "interrupted";
    case ExitKind::SystemEvent: return "system-event";
    case ExitKind::Unknown: return "unknown";
    }
    return "?";
}

uint32_t IoAccess::value() const
{
    uint32_t v = 0;
    std::memcpy(&v, data.data(), std::min<size_t>(size, std::min<size_t>(sizeof v, data.size())));
    return v;
}

VmExit decode_exit(kvm_run& run, size_t run_size, int run_result)
{
    VmExit exit;
    exit.raw_reason = run.exit_reason;
    if (run_result == EINTR || run.exit_reason == KVM_EXIT_INTR) {
        exit.kind = ExitKind::Interrupted;
        return exit;
    }
    switch (run.exit_reason) {
    case KVM_EXIT_IO: {
        uint64_t bytes = uint64_t{run.io.size} * run.io.count;
        if (run.io.data_offset > run_size || bytes > run_size - run.io.data_offset || bytes == 0)
            break;  // cannot happen with a sane kernel; reported as Unknown
        exit.kind = ExitKind::Io;
        exit.io.port = run.io.port;
        exit.io.size = run.io.size;
        exit.io.count = run.io.count;
        exit.io.out = run.io.direction == KVM_EXIT_IO_OUT;
        exit.io.data = {reinterpret_cast<uint8_t*>(&run) + run.io.data_offset, static_cast<size_t>(bytes)};
        return exit;
    }
    case KVM_EXIT_MMIO:
        exit.kind = ExitKind::Mmio;
        exit.mmio.gpa = run.mmio.phys_addr;
        exit.mmio.write = run.mmio.is_write;
        exit.mmio.data = {run.mmio.data, std::min<size_t>(run.mmio.len, sizeof run.mmio.data)};
        return exit;
    case KVM_EXIT_HLT: exit.kind = ExitKind::Hlt; return exit;
    case KVM_EXIT_DEBUG: exit.kind = ExitKind::Debug; return exit;
    case KVM_EXIT_SHUTDOWN: exit.kind = ExitKind::Shutdown; return exit;
    case KVM_EXIT_INTERNAL_ERROR:
        exit.kind = ExitKind::InternalError;
        exit.detail = run.internal.suberror;
        return exit;
    case KVM_EXIT_FAIL_ENTRY:
        exit.kind = ExitKind::FailEntry;
        exit.detail = run.fail_entry.hardware_entry_failure_reason;
        return exit;
    case KVM_EXIT_SYSTEM_EVENT:
        exit.kind = ExitKind::SystemEvent;
        exit.detail = run.system_event.type;
        return exit;
    default: break;
    }
    exit.kind = ExitKind::Unknown;
    return exit;
}

}  // namespace cr3rig
