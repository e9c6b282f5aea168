// movbe, cmpxchg8b/16b, popcnt.
#include "vmm/completion/completers.hpp"

namespace cr3rig::complete {

Outcome movbe(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome cmpxchg8b_16b(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }
Outcome popcnt(CompletionContext&, const Instruction&) { return NotExact{"not written yet"}; }

}  // namespace cr3rig::complete
