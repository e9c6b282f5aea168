// What the lint tests run: ci/lint-workflows.sh from the source root, and why it
// cannot run here (the tools it needs, which ci/install-deps.sh and its own npm ci
// install), if it cannot.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "harness/run_command.hpp"

namespace cr3rig::testing {

inline std::string source_dir()
{
    return CR3RIG_SOURCE_DIR;
}

// ci/lint-workflows.sh with ARGS, run from the source root (paths in its findings are
// relative to it).
inline CommandResult lint_workflows(const std::string& args)
{
    return run_command("cd '" + source_dir() + "' && bash ci/lint-workflows.sh " + args + " </dev/null");
}

inline std::optional<std::string> lint_tools_missing()
{
    namespace fs = std::filesystem;
    for (const char* tool : {"node", "npm", "shellcheck"})
        if (run_command(std::string("command -v ") + tool).exit_code != 0)
            return std::string(tool) + " is not installed (Debian packages nodejs, npm, shellcheck: ci/install-deps.sh)";
    // ci/lint-workflows.sh copies the lock file here after its npm ci; without that
    // copy, or with an older one, it would install from the registry first.
    fs::path ci = fs::path(source_dir()) / "ci";
    std::string installed = read_file((ci / "node_modules/.installed-package-lock.json").string());
    if (installed.empty() || installed != read_file((ci / "package-lock.json").string()))
        return std::string("the linters are not installed from ci/package-lock.json: run ci/lint-workflows.sh once "
                           "(npm ci in ci/; ci/test.sh does)");
    return std::nullopt;
}

}  // namespace cr3rig::testing
