#include "campaign/group_reports.hpp"

#include <filesystem>

#include "report/history.hpp"
#include "report/html_report.hpp"
#include "vmm/elf_loader.hpp"

namespace cr3rig {

void write_group_reports(const ElfImage& image, const std::vector<ScheduleResult>& results, const std::string& dir,
                         const CampaignOptions& options, const std::function<void(const GroupReport&)>& written)
{
    size_t n = 0;
    for (const auto& g : group_results(results)) {
        n++;
        if (g.first.signature == "clean")
            continue;
        auto base = std::filesystem::path(dir) / ("group-" + std::to_string(n));
        std::string history_path = base.string() + ".jsonl", report_path = base.string() + ".html";
        ScheduleResult replayed =
            run_schedule(image, g.first.schedule, options, g.first.index, g.first.sub, history_path);
        report::History history = report::read_history_file(history_path);
        history.name = history_path;
        report::write_html_report_file(history, report_path);
        written({n, g.first.schedule, report_path, replayed.signature != g.first.signature});
    }
}

}  // namespace cr3rig
