#include "cli/run_outputs.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "common/errors.hpp"

namespace cr3rig::cli {

SerialLog::SerialLog(std::string path) : path_(std::move(path)), file_(std::fopen(path_.c_str(), "w"))
{
    if (!file_)
        throw BadInput("cannot write serial log " + path_ + ": " + std::strerror(errno));
}

void SerialLog::check(bool ok) const
{
    if (!ok || std::ferror(file_.get()))
        throw std::runtime_error("cannot write serial log " + path_ + ": " + std::strerror(errno));
}

void SerialLog::put(char c)
{
    check(std::fputc(c, file_.get()) != EOF);
    if (c == '\n')
        check(std::fflush(file_.get()) == 0);  // a killed run still leaves the log so far
}

void SerialLog::finish()
{
    check(std::fflush(file_.get()) == 0);
}

std::string pair_output_path(const std::string& path, const std::string& which, const std::string& flag,
                             const std::string& default_extension)
{
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
        throw BadInput(flag + " " + path + ": without a guest, cr3rig run writes one file per kernel beside this "
                       "path (NAME-buggy, NAME-fixed), so it must name a regular file");
    std::filesystem::path p(path);
    std::string ext = p.has_extension() ? p.extension().string() : default_extension;
    return (p.parent_path() / (p.stem().string() + "-" + which + ext)).string();
}

}  // namespace cr3rig::cli
