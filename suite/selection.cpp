#include "suite/selection.hpp"

#include <algorithm>

#include "common/errors.hpp"

namespace cr3rig::suite {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string joined(const std::vector<std::string>& v)
{
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

}  // namespace

std::vector<PlannedTest> select_tests(const Manifest& manifest, const Filters& filters)
{
    for (const auto& name : filters.only)
        if (std::none_of(manifest.entries.begin(), manifest.entries.end(), [&](const auto& e) { return e.name == name; }))
            throw BadInput("--only " + name + ": no entry [" + name + "] in " + manifest.path.string());

    bool filtered = !filters.groups.empty() || !filters.only.empty();
    std::vector<PlannedTest> planned;
    for (const auto& e : manifest.entries) {
        if (!filters.only.empty() && !contains(filters.only, e.name))
            continue;
        if (!filters.groups.empty() &&
            std::none_of(filters.groups.begin(), filters.groups.end(), [&](const auto& g) { return e.in_group(g); }))
            continue;
        std::string reason = e.skip_reason;
        if (reason.empty() && !filtered && e.in_group("nodefault"))
            reason = "nodefault group: runs only when --group or --only selects it";
        planned.push_back({&e, reason});
    }
    if (planned.empty())
        throw BadInput("no entry of " + manifest.path.string() + " is in group " + joined(filters.groups) +
                       (filters.only.empty() ? "" : " and named " + joined(filters.only)));
    return planned;
}

}  // namespace cr3rig::suite
