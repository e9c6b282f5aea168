#include "harness/peer_gdbstub.hpp"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/hex.hpp"
#include "harness/qemu.hpp"
#include "harness/run_command.hpp"
#include "harness/stats.hpp"
#include "traps/cr3_site.hpp"
#include "vmm/boot_image.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/multiboot_image.hpp"

namespace cr3rig::bench {

namespace {

const char kLinePrefix[] = "cr3rig-gdbstub: ";  // marks the script's own lines among gdb's
const char kGuestLastLine[] = "cr3-switch: done\n";

std::string shell_quote(const std::string& s)
{
    std::string quoted = "'";
    for (char c : s)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

// The address of the one site of `kind` whose symbol is `symbol`, among `sites`.
uint64_t site_named(const std::vector<Cr3Site>& sites, SiteKind kind, const std::string& symbol)
{
    for (const auto& s : sites)
        if (s.kind == kind && s.symbol == symbol)
            return s.address;
    throw std::runtime_error("no " + std::string(name_of(kind)) + " site in " + symbol + "()");
}

// QEMU as the mb tests run it (harness/qemu.hpp), but frozen at the first
// instruction (-S) with its gdb stub on stdio, which gdb's `target remote | CMD` pipes
// to; the serial console goes to a file instead.
std::string qemu_for_gdb(const std::string& image, const std::string& serial_file)
{
    auto argv = testing::qemu_argv(image);
    for (size_t i = 0; i + 1 < argv.size(); i++)
        if (argv[i] == "-serial")
            argv[i + 1] = "file:" + serial_file;
    argv.insert(argv.end(), {"-S", "-gdb", "stdio"});
    std::string cmd = "exec";
    // Not " " + shell_quote(a): prepending to a temporary (string::insert(0, ...)) gets a
    // false -Werror=restrict from g++ 12 at -O3 (GCC PR 105329).
    for (const auto& a : argv) {
        cmd += ' ';
        cmd += shell_quote(a);
    }
    return cmd;
}

// The gdb script: connect, two hardware breakpoints, `hits` continues (the clock runs
// from the first stop, so QEMU's ~3 s of firmware and boot are not in it), then delete
// them and let the guest run to its exit. It prints one line per stop and the window.
std::string gdb_script(const std::string& qemu_command, Cr3SitePair sites, int hits)
{
    std::ostringstream s;
    s << "set pagination off\n"
         "set confirm off\n"
         "target remote | "
      << qemu_command << "\n"
      << "hbreak *" << hex(sites.read) << "\n"
      << "hbreak *" << hex(sites.write) << "\n"
      << "python\n"
         "import time\n"
         "prefix = '" << kLinePrefix << "'\n"
         "pcs, start, end = [], None, None\n"
         "try:\n"
         "    for i in range(" << hits << "):\n"
         "        gdb.execute('continue', to_string=True)\n"
         "        pcs.append(int(gdb.parse_and_eval('$pc')))\n"
         "        if i == 0:\n"
         "            start = time.monotonic_ns()\n"
         "    end = time.monotonic_ns()\n"
         "except gdb.error as e:\n"
         "    print(prefix + 'stopped early: %s' % e)\n"
         "for pc in pcs:\n"
         "    print(prefix + 'hit %#x' % pc)\n"
         "if end is not None:\n"
         "    print(prefix + 'window_ns %d' % (end - start))\n"
         "gdb.execute('delete')\n"
         "try:\n"
         "    gdb.execute('continue', to_string=True)\n"
         "except gdb.error as e:\n"  // "Remote connection closed": the guest ended QEMU
         "    print(prefix + 'guest ended: %s' % e)\n"
         "end\n";
    return s.str();
}

GdbStubSession parse_session_output(const std::string& output)
{
    GdbStubSession session;
    session.output = output;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(kLinePrefix, 0) != 0)
            continue;
        std::istringstream fields(line.substr(sizeof kLinePrefix - 1));
        std::string key, value;
        fields >> key >> value;
        if (key == "hit")
            session.hits.push_back(std::stoull(value, nullptr, 16));
        else if (key == "window_ns")
            session.window_ns = std::stod(value);
    }
    return session;
}

double ns_per_hit(const GdbStubSession& session)
{
    return session.window_ns / static_cast<double>(session.hits.size() - 1);
}

nlohmann::json summary_json(const std::vector<double>& samples)
{
    auto s = summarize(samples);
    return {{"min", s.min}, {"median", s.median}, {"max", s.max}};
}

}  // namespace

Cr3SitePair find_cr3_switch_sites(const std::string& image, const std::string& elf64_original)
{
    ElfImage named = ElfImage::read_file(elf64_original);
    MultibootImage loaded = MultibootImage::parse(read_file_bytes(image, "multiboot image"));
    std::vector<Cr3Site> sites;
    for (const auto& segment : loaded.segments()) {
        if (!segment.executable || segment.filesz == 0)
            continue;
        const uint8_t* code = loaded.bytes().data() + segment.offset;
        for (auto& site : scan_cr3_sites(code, segment.filesz, segment.vaddr)) {
            site.symbol = named.symbolize(site.address).value_or("");
            sites.push_back(std::move(site));
        }
    }
    if (scan_cr3_sites(named).size() != sites.size())
        throw std::runtime_error(image + " and " + elf64_original + " have different CR3 sites");
    return {site_named(sites, SiteKind::Cr3Read, "read_cr3"), site_named(sites, SiteKind::Cr3Write, "write_cr3")};
}

std::optional<std::string> gdbstub_unusable_reason()
{
    if (auto why = testing::qemu_unusable_reason())
        return why;
    auto gdb = testing::run_command("gdb -batch -nx -ex 'python import time' </dev/null");
    if (gdb.exit_code == 127)
        return std::string("gdb not found (Debian: apt-get install gdb)");
    if (gdb.exit_code != 0 || !gdb.output.empty())
        return "gdb cannot run Python scripts (Debian's gdb package can, gdb-minimal cannot): " +
               gdb.output.substr(0, gdb.output.find('\n'));
    return std::nullopt;
}

GdbStubSession run_gdbstub_session(const std::string& image, Cr3SitePair sites, int hits)
{
    std::string dir_template = (std::filesystem::temp_directory_path() / "cr3rig-gdbstub-XXXXXX").string();
    if (!mkdtemp(dir_template.data()))
        throw std::runtime_error("cannot create a temporary directory for the gdb session in " + dir_template);
    std::filesystem::path dir = dir_template;
    std::string serial = (dir / "serial.txt").string(), script = (dir / "session.gdb").string();
    std::ofstream(script) << gdb_script(qemu_for_gdb(image, serial), sites, hits);
    auto result = testing::run_command("gdb -batch -nx -x " + shell_quote(script) + " </dev/null");
    GdbStubSession session = parse_session_output(result.output);
    std::string console = testing::read_file(serial);
    session.guest_finished = console.size() >= sizeof kGuestLastLine - 1 &&
                             console.compare(console.size() - (sizeof kGuestLastLine - 1), std::string::npos,
                                             kGuestLastLine) == 0;
    std::filesystem::remove_all(dir);
    return session;
}

std::optional<std::string> session_problem(const GdbStubSession& session, Cr3SitePair sites, int hits)
{
    if (session.hits.size() != static_cast<size_t>(hits))
        return std::to_string(session.hits.size()) + " breakpoint stops, asked for " + std::to_string(hits);
    for (size_t i = 0; i < session.hits.size(); i++) {
        uint64_t expected = i % 2 == 0 ? sites.read : sites.write;
        if (session.hits[i] != expected)
            return "stop " + std::to_string(i) + " at " + hex(session.hits[i]) + ", expected " + hex(expected);
    }
    if (hits > 1 && session.window_ns <= 0)
        return std::string("no time window measured");
    if (!session.guest_finished)
        return std::string("the guest did not run to its end after the breakpoints were deleted");
    return std::nullopt;
}

GdbStubFigures gdbstub_peer_samples(int runs, int hits, const std::string& guest_dir,
                                    const std::function<double()>& rig_sample)
{
    GdbStubFigures f;
    f.hits_per_run = hits;
    if (auto why = gdbstub_unusable_reason()) {
        f.skipped = *why;
        return f;
    }
    const std::string image = guest_dir + "/mb-cr3-switch.elf";
    Cr3SitePair sites = find_cr3_switch_sites(image, guest_dir + "/mb-cr3-switch.elf64");
    for (int i = 0; i < runs; i++) {
        f.rig_ns.push_back(rig_sample());
        GdbStubSession session = run_gdbstub_session(image, sites, hits);
        if (auto problem = session_problem(session, sites, hits))
            throw std::runtime_error("gdb-stub session went wrong: " + *problem + "\n" + session.output);
        f.gdb_ns.push_back(ns_per_hit(session));
    }
    return f;
}

void print_gdbstub_figures(const GdbStubFigures& f)
{
    if (!f.skipped.empty()) {
        std::printf("  gdb-stub comparison skipped: %s\n", f.skipped.c_str());
        return;
    }
    auto gdb = summarize(f.gdb_ns), rig = summarize(f.rig_ns);
    std::printf("  gdb hbreak hit via QEMU's gdb stub  %8.0f / %8.0f / %8.0f us (mb-cr3-switch, %d hits a run)\n",
                gdb.min / 1e3, gdb.median / 1e3, gdb.max / 1e3, f.hits_per_run);
    std::printf("  trapped CR3 access, rig, alternated %8.2f / %8.2f / %8.2f us (cr3-switch)\n", rig.min / 1e3,
                rig.median / 1e3, rig.max / 1e3);
    std::printf("  ratio: gdb + QEMU / rig = %.0f (medians)\n", gdb.median / rig.median);
}

void add_gdbstub_json(nlohmann::json& j, const GdbStubFigures& f)
{
    if (!f.skipped.empty()) {
        j["gdbstub_skipped"] = f.skipped;
        return;
    }
    j["gdbstub_hits_per_run"] = f.hits_per_run;
    j["gdbstub_hit_ns"] = summary_json(f.gdb_ns);
    j["gdbstub_rig_trapped_access_ns"] = summary_json(f.rig_ns);
    j["gdbstub_over_rig_trapped_access"] = summarize(f.gdb_ns).median / summarize(f.rig_ns).median;
}

}  // namespace cr3rig::bench
