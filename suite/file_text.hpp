// A whole file as text, for the runner's logs and the manifest's check = PATH=VALUE.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cr3rig::suite {

// Empty when the file cannot be read: a log the child never wrote, a check's PATH
// that is not readable (the shell's $(cat PATH) gives nothing either).
inline std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace cr3rig::suite
