// CR3 traps the do-it-yourself way, the peer of the rig's trap engine: QEMU -accel kvm
// boots mb-cr3-switch (the cr3-switch guest's code as a multiboot image) stopped, with
// its gdb stub on a pipe to gdb; gdb puts hardware breakpoints on the guest's CR3 read
// and write sites and continues from hit to hit, timing the hits with Python's clock.
// Shared by the benchmark (cost per hit) and tests/qemu (hit count and order).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cr3rig::bench {

struct Cr3SitePair {
    uint64_t read = 0, write = 0;  // guest addresses of `mov %cr3, reg` and `mov reg, %cr3`
};

// The sites in read_cr3() and write_cr3() of a multiboot image built by
// add_multiboot_guest (guest/CMakeLists.txt): the rig's own scanner on the executable
// segments of the ELF32 image (the bytes QEMU loads), named with the symbols of its
// ELF64 original (objcopy -O elf32-i386 keeps every address; the rig reads no ELF32
// symbols). Naming matters: the 32-bit entry has a CR3 write of its own, run once
// before main. Throws when either site is missing or the two files disagree.
Cr3SitePair find_cr3_switch_sites(const std::string& image, const std::string& elf64_original);

// Why QEMU with KVM, or gdb with Python, cannot run here; nullopt when both can.
std::optional<std::string> gdbstub_unusable_reason();

// One QEMU + gdb session: `hits` breakpoint stops, then the breakpoints are deleted and
// the guest runs to its end. It cannot hang: every path ends with the guest's exit,
// which ends QEMU, which closes gdb's connection.
struct GdbStubSession {
    std::vector<uint64_t> hits;   // the PC of each stop, in order (fewer if the guest ended first)
    double window_ns = 0;         // from the first stop to the last: hits - 1 round trips
    bool guest_finished = false;  // its serial output ends with its last line, as under the rig
    std::string output;           // gdb's and QEMU's, to explain a session that went wrong
};
GdbStubSession run_gdbstub_session(const std::string& image, Cr3SitePair sites, int hits);

// What is wrong with a session that was asked for `hits` stops, or nullopt: the count,
// a stop elsewhere than the two sites, or reads and writes not alternating from a read
// (cr3-switch's order: read, then write-read pairs, every access through the two sites).
std::optional<std::string> session_problem(const GdbStubSession& session, Cr3SitePair sites, int hits);

// Hits a benchmark run times: a quarter of cr3-switch's 802 CR3 accesses, ~1 s under gdb.
constexpr int kBenchGdbStubHits = 200;

// The benchmark's figures: ns per breakpoint hit under gdb + QEMU, and the rig's ns per
// trapped access sampled alternately with them (same host load), one sample per run.
struct GdbStubFigures {
    int hits_per_run = 0;
    std::vector<double> gdb_ns, rig_ns;
    std::string skipped;  // why there are no gdb figures, if there are none
};
GdbStubFigures gdbstub_peer_samples(int runs, int hits, const std::string& guest_dir,
                                    const std::function<double()>& rig_sample);
void print_gdbstub_figures(const GdbStubFigures& figures);
void add_gdbstub_json(nlohmann::json& j, const GdbStubFigures& figures);

}  // namespace cr3rig::bench
