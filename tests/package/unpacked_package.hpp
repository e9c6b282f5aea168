// The package the package tests look at: build/cr3rig_<version>_<arch>.deb, which the
// cr3rig-package-deb target makes (cmake/packaging.cmake; the package test binaries
// depend on it), unpacked once per test process with `dpkg-deb -x` into a temporary
// directory that goes away when the process ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "harness/run_command.hpp"

namespace cr3rig::testing {

// A path for the shell, in single quotes (the paths here come from CMake and mkdtemp).
inline std::string shell_path(const std::string& path)
{
    if (path.find('\'') != std::string::npos)
        throw std::invalid_argument("a path with a single quote: " + path);
    return "'" + path + "'";
}

// Why the package tests cannot run here, or nullopt. A package this build should have
// made but did not is no reason: the tests then fail, saying so.
inline std::optional<std::string> package_unusable_reason()
{
    if (std::string(CR3RIG_PACKAGE_DEB).empty())
        return std::string("this build makes no Debian package: ") + CR3RIG_PACKAGE_MISSING;
    if (run_command("dpkg-deb --version").exit_code != 0)
        return std::string("the package tests need dpkg-deb (Debian package dpkg)");
    return std::nullopt;
}

struct UnpackedPackage {
    std::string deb = CR3RIG_PACKAGE_DEB;
    std::filesystem::path root;  // the package's / : root / "usr/bin/cr3rig"...

    UnpackedPackage()
    {
        if (!std::filesystem::exists(deb))
            throw std::runtime_error("no package at " + deb + ": build the target cr3rig-package-deb (ci/package.sh)");
        std::string dir_template = (std::filesystem::temp_directory_path() / "cr3rig-package-XXXXXX").string();
        if (!::mkdtemp(dir_template.data()))
            throw std::runtime_error("mkdtemp failed for " + dir_template);
        root = dir_template;
        auto r = run_command("dpkg-deb -x " + shell_path(deb) + " " + shell_path(root.string()));
        if (r.exit_code != 0)
            throw std::runtime_error("dpkg-deb -x " + deb + " failed (exit " + std::to_string(r.exit_code) + "): " + r.output);
    }
    ~UnpackedPackage() { std::filesystem::remove_all(root); }
    UnpackedPackage(const UnpackedPackage&) = delete;
    UnpackedPackage& operator=(const UnpackedPackage&) = delete;

    std::string binary() const { return (root / "usr/bin/cr3rig").string(); }
};

// One field of the package's control file (dpkg-deb -f), without the final newline.
inline std::string control_field(const std::string& deb, const std::string& field)
{
    auto r = run_command("dpkg-deb -f " + shell_path(deb) + " " + field);
    if (r.exit_code != 0)
        throw std::runtime_error("dpkg-deb -f " + deb + " " + field + " failed: " + r.output);
    while (!r.output.empty() && r.output.back() == '\n')
        r.output.pop_back();
    return r.output;
}

inline const UnpackedPackage& unpacked_package()
{
    static const UnpackedPackage package;
    return package;
}

}  // namespace cr3rig::testing
