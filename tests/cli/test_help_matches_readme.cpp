// The README's CLI synopsis and each command's --help name the same options: one is
// for people deciding what to type, the other is what the binary takes, and they
// drifted apart before (`campaign --rig-clock`, `run --livelock-abort` were missing).
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "harness/run_command.hpp"

using cr3rig::testing::run_command;

namespace {

// Each option --help lists, as "-j,--jobs" or "--inject" (without --help itself).
std::set<std::string> help_options(const std::string& command)
{
    auto help = run_command(std::string(CR3RIG_BINARY) + " " + command + " --help");
    REQUIRE(help.exit_code == 0);
    std::set<std::string> options;
    std::regex option_line(R"(^\s+((?:-[a-zA-Z],)?--[a-z][a-z0-9-]*))");
    std::istringstream lines(help.output);
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        if (std::regex_search(line, m, option_line) && m[1] != "-h,--help")
            options.insert(m[1]);
    }
    return options;
}

// The README's synopsis of one command: its line in the CLI block and the indented
// lines that continue it.
std::string readme_synopsis(const std::string& command)
{
    std::string readme = cr3rig::testing::read_file(CR3RIG_SOURCE_DIR "/README.md");
    size_t block = readme.find("## CLI\n\n```\n");
    REQUIRE(block != std::string::npos);
    std::istringstream lines(readme.substr(block, readme.find("\n```\n", block + 12) - block));
    std::string synopsis;
    bool in = false;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("cr3rig ", 0) == 0)
            in = line.rfind("cr3rig " + command + " ", 0) == 0 || line == "cr3rig " + command;
        if (in)
            synopsis += line + "\n";
    }
    return synopsis;
}

// The options a synopsis names, long or short ("-q", "--trace").
std::set<std::string> synopsis_options(const std::string& synopsis)
{
    std::set<std::string> options;
    std::regex option(R"((^|[\s\[|])(--?[a-zA-Z][a-z0-9-]*))");
    for (auto it = std::sregex_iterator(synopsis.begin(), synopsis.end(), option); it != std::sregex_iterator(); ++it)
        options.insert((*it)[2]);
    return options;
}

}  // namespace

TEST_CASE("the README's synopsis and --help name the same options, command by command")
{
    for (const char* command : {"run", "sites", "campaign", "merge", "replay", "trace", "test", "guests", "doctor"}) {
        INFO("cr3rig " << command);
        std::string synopsis = readme_synopsis(command);
        REQUIRE(!synopsis.empty());
        std::set<std::string> in_readme = synopsis_options(synopsis);
        std::set<std::string> in_help = help_options(command);
        for (const std::string& option : in_help) {
            INFO(option << " is in --help; the README's synopsis:\n" << synopsis);
            auto comma = option.find(',');
            bool named = comma == std::string::npos
                             ? in_readme.count(option) > 0
                             : in_readme.count(option.substr(0, comma)) + in_readme.count(option.substr(comma + 1)) > 0;
            CHECK(named);
        }
        for (const std::string& option : in_readme) {
            INFO(option << " is in the README's synopsis; --help does not list it");
            bool listed = false;
            for (const std::string& h : in_help)
                listed |= h == option || h.rfind(option + ",", 0) == 0 ||
                          (h.size() > option.size() && h.compare(h.size() - option.size(), option.size(), option) == 0 &&
                           h[h.size() - option.size() - 1] == ',');
            CHECK(listed);
        }
    }
}
