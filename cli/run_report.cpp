#include "cli/run_report.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/errors.hpp"
#include "report/history.hpp"
#include "report/html_report.hpp"

namespace cr3rig::cli {

RunReport::RunReport(std::string report_path, std::string trace_path)
    : report_path_(std::move(report_path)), history_path_(std::move(trace_path))
{
    // Fail now, not after a run that may take a while; leave no empty report behind
    // if the run then fails to start (no KVM, say).
    bool existed = std::filesystem::exists(report_path_);
    if (std::filesystem::is_directory(report_path_) || !std::ofstream(report_path_, std::ios::app))
        throw BadInput("cannot write report " + report_path_);
    if (!existed)
        std::filesystem::remove(report_path_);
    if (history_path_.empty()) {
        std::string pattern = (std::filesystem::temp_directory_path() / "cr3rig-history-XXXXXX").string();
        int fd = ::mkstemp(pattern.data());
        if (fd < 0)
            throw BadInput("cannot create a temporary history file in " +
                           std::filesystem::temp_directory_path().string());
        ::close(fd);
        history_path_ = pattern;
        temporary_ = true;
    }
}

RunReport::~RunReport()
{
    if (temporary_)
        std::filesystem::remove(history_path_);
}

void RunReport::write() const
{
    report::History history = report::read_history_file(history_path_);
    if (temporary_)
        history.name = "the run's history (in a temporary file, not kept: add --trace FILE to keep it)";
    try {
        report::write_html_report_file(history, report_path_);
    } catch (const BadInput& e) {
        // The path was checked before the run: failing now is the host's I/O (disk full).
        throw std::runtime_error(e.what());
    }
    spdlog::info("report: {}", report_path_);
}

}  // namespace cr3rig::cli
