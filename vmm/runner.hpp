// One run of one guest: build the VM, load the image, run to a verdict.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "devices/rig_port.hpp"
#include "dispatch.hpp"
#include "verdict.hpp"

namespace cr3rig {

class ElfImage;
class RunHook;

struct RunOptions {
    std::chrono::milliseconds timeout{10'000};
    uint64_t memory_bytes = 64ull << 20;
    // Optional live observers; the result keeps the console text and counts either way.
    std::function<void(char)> on_console;
    std::function<void(const std::string&)> on_log;
    std::function<void(const TraceRecord&)> on_trace;
    std::function<void(const std::string&)> on_bad_message;
    RunHook* hook = nullptr;  // e.g. the trap engine
};

struct RunResult {
    Verdict verdict = Verdict::Crash;
    std::string reason;                    // one line
    std::optional<uint32_t> guest_status;  // debug-exit value, if the guest wrote one
    std::string console;                   // everything the guest wrote to the UART
    std::string crash_dump;                // registers, for Crash verdicts
    ExitStats stats;
    std::chrono::nanoseconds run_time{0};  // first KVM_RUN to verdict
    uint64_t bad_rig_messages = 0;
    uint64_t unclaimed_port_accesses = 0;
    // Writes to CR3RIG_BENCH_PORT: count and the time between the first and the last.
    uint64_t bench_port_hits = 0;
    std::chrono::nanoseconds bench_port_window{0};
};

// Throws KvmUnavailable (no usable KVM), BadInput (image does not fit) or KvmError
// (an ioctl failed while setting up). A guest cannot make it throw once running.
RunResult run_guest(const ElfImage& image, const RunOptions& options);

}  // namespace cr3rig
