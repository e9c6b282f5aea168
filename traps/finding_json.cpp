#include "traps/finding_json.hpp"

#include "common/hex.hpp"

namespace cr3rig {

nlohmann::json finding_json(const Finding& f)
{
    nlohmann::json j{{"kind", name_of(f.kind)}, {"seq", f.seq},         {"summary", f.summary},
                     {"site", hex(f.site)},     {"value", hex(f.value)}, {"expected", hex(f.expected)}};
    if (f.kind == FindingKind::StaleCr3Write) {
        nlohmann::json between = nlohmann::json::array();
        for (uint64_t v : f.writes_between)
            between.push_back(hex(v));
        j["read_site"] = hex(f.other_site);
        j["writes_between"] = between;
    }
    if (f.kind == FindingKind::FaultLivelock) {
        j["count"] = f.count;
        j["guest_ns"] = f.guest_ns;
        j["host_ns"] = f.host_ns;
    }
    return j;
}

}  // namespace cr3rig
