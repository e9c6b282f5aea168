#include "common/trap_event.hpp"

namespace cr3rig {

const char* name_of(EventKind kind)
{
    switch (kind) {
    case EventKind::Cr3Read: return "cr3_read";
    case EventKind::Cr3Write: return "cr3_write";
    case EventKind::Injection: return "injection";
    case EventKind::PageFault: return "page_fault";
    case EventKind::Flush: return "flush";
    }
    return "?";
}

std::string describe(const Finding& f) { return std::string(name_of(f.kind)) + ": " + f.summary; }

const char* name_of(FindingKind kind)
{
    switch (kind) {
    case FindingKind::StaleCr3Write: return "stale-cr3-write";
    case FindingKind::Cr3NotActiveMm: return "cr3-not-active-mm";
    case FindingKind::FaultLivelock: return "page-fault-livelock";
    case FindingKind::GuestDisagrees: return "guest-disagrees";
    }
    return "?";
}

}  // namespace cr3rig
