// Headless Chromium for the report tests: each run gets a fresh profile directory and
// no network features, loads one file:// page, and returns what Chromium printed.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "harness/run_command.hpp"

namespace cr3rig::testing {

inline std::string chromium_path()
{
    const char* env = std::getenv("CR3RIG_CHROMIUM");
    return env && *env ? env : "/usr/bin/chromium";
}

inline bool chromium_usable() { return ::access(chromium_path().c_str(), X_OK) == 0; }

struct BrowserRun {
    int exit_code = -1;
    std::string stdout_text;  // --dump-dom: the DOM after the page's scripts ran
    std::string log;          // stderr with --enable-logging=stderr: console messages are "CONSOLE" lines
};

// `mode` is "--dump-dom" or "--screenshot=FILE --window-size=W,H".
inline BrowserRun run_chromium(const std::string& page, const std::string& mode)
{
    std::string tmpl = (std::filesystem::temp_directory_path() / "cr3rig-chromium-XXXXXX").string();
    std::filesystem::path profile = ::mkdtemp(tmpl.data());
    std::filesystem::path log = profile / "stderr.log";
    std::string command = "cd " + profile.string() + " && (" + chromium_path() +
                          " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --enable-logging=stderr --v=0 --user-data-dir=" +
                          (profile / "profile").string() + " " + mode + " file://" +
                          std::filesystem::absolute(page).string() + " 2>" + log.string() + ")";
    CommandResult r = run_command(command);
    BrowserRun run{r.exit_code, r.output, read_file(log.string())};
    std::filesystem::remove_all(profile);
    return run;
}

}  // namespace cr3rig::testing
