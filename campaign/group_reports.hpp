// The reports of a campaign's finding groups (--out DIR): each group's first schedule
// is run once more in a fresh VM with its CR3 history kept (DIR/group-N.jsonl, N the
// group's line in the table of group_results()) and drawn as the HTML timeline of
// `cr3rig trace` (DIR/group-N.html). Clean groups get none.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "campaign/campaign.hpp"
#include "campaign/campaign_runner.hpp"

namespace cr3rig {

class ElfImage;

struct GroupReport {
    size_t group = 0;  // 1-based, the group's line in the table
    Schedule first;    // the group's first schedule, the one replayed
    std::string path;  // of the HTML report
    bool replayed_differently = false;  // the replay's signature is not the group's
};

// Writes the reports into `dir`, calling `written` after each.
void write_group_reports(const ElfImage& image, const std::vector<ScheduleResult>& results, const std::string& dir,
                         const CampaignOptions& options, const std::function<void(const GroupReport&)>& written);

}  // namespace cr3rig
