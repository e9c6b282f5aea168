// The KVM side of instruction completion: on the backend's emulation failure, read the
// vCPU's state, fetch and decode the instruction at RIP through the guest's page
// tables, run its completer (completer.hpp) and write the result back: registers,
// CR2, the XSAVE image, a TLB flush, the exception or software interrupt to deliver.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "vmm/dispatch.hpp"

namespace cr3rig {

class GuestMemory;
class Vcpu;

// How often each instruction was completed, by the completer table's names.
struct CompletionCounts {
    std::map<std::string, uint64_t> by_name;
    uint64_t total() const;
    // "completions: 3 total\n  int3   2\n  movbe  1\n"
    std::string format() const;
};

// KVM_EXIT_INTERNAL_ERROR with suberror KVM_INTERNAL_ERROR_EMULATION.
bool is_emulation_failure(const VmExit& exit);

class InstructionCompletion {
public:
    // `enabled` false (`--no-complete`): every failure stays a crash, naming the
    // instruction. `on_first` hears one line the first time each kind is completed.
    InstructionCompletion(GuestMemory& memory, bool enabled, std::function<void(const std::string&)> on_first);

    // Completes the instruction at the vCPU's RIP after an emulation failure: nullopt
    // when done (resume the vCPU), else the crash that names it and why it was not.
    std::optional<Stop> complete(Vcpu& vcpu, CompletionCounts& counts);

private:
    GuestMemory& memory_;
    bool enabled_;
    std::function<void(const std::string&)> on_first_;
};

}  // namespace cr3rig
