// The package's Depends against what the packaged binary loads: every shared library
// ldd lists (but the vDSO and the dynamic loader) comes from a package Depends names,
// and Depends names no package the binary does not load a library from (so no -dev
// package, no build tool). A name in Depends may be a package or one it Provides
// (libspdlog1.10 provides libspdlog1.10-fmt9, its ABI name, which dpkg-shlibdeps uses).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/package/unpacked_package.hpp"

using namespace cr3rig::testing;

namespace {

std::string trimmed(const std::string& s)
{
    auto begin = s.find_first_not_of(" \t\n");
    auto end = s.find_last_not_of(" \t\n");
    return begin == std::string::npos ? "" : s.substr(begin, end - begin + 1);
}

// The package names in a Depends (or Provides) value: "a (>= 1), b | c, d:any" -> a b c d.
std::set<std::string> package_names(const std::string& relations)
{
    std::set<std::string> names;
    std::string item;
    std::istringstream in(relations);
    while (std::getline(in, item, ',')) {
        std::istringstream alternatives(item);
        std::string alternative;
        while (std::getline(alternatives, alternative, '|')) {
            std::string name = trimmed(alternative.substr(0, alternative.find('(')));
            name = name.substr(0, name.find(':'));
            if (!name.empty())
                names.insert(name);
        }
    }
    return names;
}

// ldd's "name => path (address)" lines: name -> path ("not found" when unresolved).
// Its other lines are the vDSO and the dynamic loader.
std::map<std::string, std::string> loaded_libraries(const std::string& ldd_output)
{
    std::map<std::string, std::string> libraries;
    std::istringstream in(ldd_output);
    for (std::string line; std::getline(in, line);) {
        auto arrow = line.find(" => ");
        if (arrow == std::string::npos)
            continue;
        std::string path = line.substr(arrow + 4);
        path = trimmed(path.substr(0, path.find(" (")));
        libraries[trimmed(line.substr(0, arrow))] = path;
    }
    return libraries;
}

// The package that owns a library file (dpkg -S), or "" when none does. With merged
// /usr, ldd may name /lib/x/libfoo.so.1 while the package lists /usr/lib/x/libfoo.so.1
// (or the other way round): both are tried.
std::string owner_of(const std::string& path)
{
    std::vector<std::string> candidates = {path};
    if (path.rfind("/usr/", 0) == 0)
        candidates.push_back(path.substr(4));
    else
        candidates.push_back("/usr" + path);
    for (const auto& candidate : candidates) {
        auto r = run_command("dpkg -S " + shell_path(candidate));
        if (r.exit_code != 0)
            continue;
        // "libspdlog1.10:amd64: /usr/lib/x86_64-linux-gnu/libspdlog.so.1.10"
        auto line = r.output.substr(0, r.output.find('\n'));
        if (line.size() > candidate.size() && line.compare(line.size() - candidate.size(), candidate.size(), candidate) == 0)
            return line.substr(0, std::min(line.find(':'), line.find(',')));
    }
    return "";
}

// The names a package answers to in a Depends: its own and those it Provides.
std::set<std::string> names_of_package(const std::string& package)
{
    auto r = run_command("dpkg-query -W -f='${Provides}' " + shell_path(package));
    auto names = package_names(r.output);
    names.insert(package);
    return names;
}

}  // namespace

TEST_CASE("Depends names exactly the packages of the shared libraries the packaged binary loads")
{
    const auto& package = unpacked_package();
    auto depends_field = control_field(package.deb, "Depends");
    auto depends = package_names(depends_field);
    auto ldd = run_command("ldd " + shell_path(package.binary()));
    INFO("Depends: " << depends_field << "\nldd:\n" << ldd.output);
    REQUIRE(ldd.exit_code == 0);
    auto libraries = loaded_libraries(ldd.output);
    REQUIRE(libraries.count("libc.so.6") == 1);  // the parse found the libraries

    std::set<std::string> needed;  // the Depends names that some library needs
    for (const auto& [name, path] : libraries) {
        INFO(name << " => " << path);
        CHECK(path != "not found");
        auto owner = owner_of(path);
        INFO("owned by: " << (owner.empty() ? "no package" : owner));
        REQUIRE(!owner.empty());
        bool declared = false;
        for (const auto& answers_to : names_of_package(owner))
            if (depends.count(answers_to)) {
                declared = true;
                needed.insert(answers_to);
            }
        CHECK(declared);
    }
    for (const auto& name : depends) {
        INFO("Depends names " << name);
        CHECK(needed.count(name) == 1);  // a library the binary loads comes from it
        CHECK_THAT(name, !Catch::EndsWith("-dev"));
    }
}
