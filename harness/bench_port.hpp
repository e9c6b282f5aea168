// The bench port (CR3RIG_BENCH_PORT): a test-only device that does nothing but count,
// so one write costs one bare exit. Not a device of the machine: the benchmark and the
// tests attach it through RunOptions::extra_devices and read it after the run. It
// keeps no snapshot state (its counts span the whole session). Shared by the benchmark
// and the tests; header-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>

#include "cr3rig/abi.h"
#include "vmm/devices/device.hpp"

namespace cr3rig::testing {

class BenchPort : public Device {
public:
    using Clock = std::chrono::steady_clock;

    std::string_view name() const override { return "bench port"; }
    Claims claims() const override { return {{{CR3RIG_BENCH_PORT, CR3RIG_BENCH_LEN}}, {}}; }
    ExitAction io(const IoAccess& access) override
    {
        auto now = Clock::now();
        if (hits_++ == 0)
            first_ = now;
        last_ = now;
        if (!access.out)
            std::memset(access.data.data(), 0xff, access.data.size());
        return std::nullopt;
    }

    // Accesses (the guests only write), and the time between the first and the last.
    uint64_t hits() const { return hits_; }
    std::chrono::nanoseconds window() const { return last_ - first_; }
    // ns per round trip: the window over the gaps between hits (needs two hits).
    double roundtrip_ns() const
    {
        return std::chrono::duration<double, std::nano>(window()).count() / static_cast<double>(hits_ - 1);
    }

private:
    uint64_t hits_ = 0;
    Clock::time_point first_{}, last_{};
};

}  // namespace cr3rig::testing
