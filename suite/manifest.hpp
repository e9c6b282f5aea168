// A test manifest in the INI dialect of kvm-unit-tests' unittests.cfg:
//
//   # comment
//   [name]
//   file = builtin:hello          # or a guest image, relative to the manifest
//   test_args = 'a b'             # the guest's command line (shell-quoted)
//   extra_params = -append 'a b' -cpu qemu64,+x2apic -m 256  # QEMU options
//   groups = smoke cr3
//   timeout = 30s
//   smp = 1 / arch = x86_64 / accel = kvm / machine / check = PATH=VALUE / disabled_if
//
// Entries this rig cannot host stay in the manifest with a skip reason, so the
// reports show them as SKIP with why; docs/suite.md lists the rules.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cr3rig::suite {

struct ManifestEntry {
    std::string name;
    unsigned line = 0;  // of the [name] header
    std::string file;   // as written: builtin:NAME, or a path
    std::optional<double> timeout_s;
    std::vector<std::string> groups;
    std::string smp = "1";  // as written
    unsigned vcpus = 1;     // smp as a number; 0 when it is not one ($MAX_SMP)
    std::string arch, machine, accel, disabled_if;
    std::vector<std::string> checks;     // PATH=VALUE each
    std::string cmdline;                 // what the guest gets: test_args, or extra_params' -append
    std::string cpu;                     // extra_params' -cpu, verbatim; empty: none
    std::optional<uint64_t> memory_mib;  // extra_params' -m
    std::vector<std::string> qemu_params;  // extra_params' words, verbatim (to run the entry under QEMU)
    // cr3rig's own key, cr3rig_params: `cr3rig run` options of the trap engine
    // (--inject, --trap-backend, --rig-clock...; kRigParams), passed on verbatim.
    std::vector<std::string> rig_params;
    std::string skip_reason;             // run_tests.sh's own: arch, machine, accel, disabled_if
    std::string unhostable;              // what cr3rig cannot give (a QEMU option, ...); empty: none

    bool in_group(std::string_view group) const;
};

// The `cr3rig run` options cr3rig_params may give: the trap engine's. The runner sets
// the others (--timeout, --memory...) from the entry.
inline constexpr std::string_view kRigParams[] = {"--inject",          "--trap-backend",   "--rig-clock",
                                                  "--host-time",       "--livelock-faults", "--livelock-abort",
                                                  "--current-symbol",  "--offset-prefix",  "--no-complete"};

struct Manifest {
    std::filesystem::path path;
    std::vector<ManifestEntry> entries;

    std::string suite_name() const { return path.stem().string(); }  // "unittests"
    std::filesystem::path directory() const { return path.parent_path(); }
};

// `source` names the text in messages ("unittests.cfg:12: ..."). Throws BadInput for
// malformed input: a key outside a section, a duplicate section or key, a missing or
// empty file, a bad timeout or smp, a line without '=', an unknown key.
Manifest parse_manifest(std::string_view text, const std::filesystem::path& source);

// Reads and parses a manifest file; the path is made absolute so that files resolve
// against its directory wherever cr3rig runs.
Manifest load_manifest(const std::filesystem::path& path);

}  // namespace cr3rig::suite
