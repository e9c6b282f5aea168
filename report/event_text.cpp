#include "report/event_text.hpp"

#include "common/hex.hpp"
#include "report/timeline.hpp"

namespace cr3rig::report {

std::string event_value(const TrapEvent& e)
{
    switch (e.kind) {
    case EventKind::Cr3Read: return hex(e.value);
    case EventKind::Cr3Write: return hex(e.cr3) + " -> " + hex(e.value);
    case EventKind::Injection: return "vector " + std::to_string(e.value);
    case EventKind::PageFault:
        return "addr " + hex(e.fault_addr) + " rip " + hex(e.fault_rip) + " err " + std::to_string(e.error_code);
    case EventKind::Flush: return e.instruction == "cr4-write" ? e.instruction + " " + hex(e.value) : e.instruction;
    }
    return "";
}

std::string event_summary(const TrapEvent& e)
{
    std::string where = e.symbol.empty() ? hex(e.rip) : e.symbol + " (" + hex(e.rip) + ")";
    std::string out = "seq " + std::to_string(e.seq) + " " + name_of(e.kind) + " at " + where + ": " + event_value(e);
    if (e.kind == EventKind::PageFault)
        out += ", CR3 " + hex(e.cr3);
    if (e.task)
        out += ", task " + lane_label(e.task);
    return out;
}

}  // namespace cr3rig::report
