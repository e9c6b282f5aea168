// Guests with many CR3 sites (cr3-sites-N: 4096 accesses spread over N sites, each
// run as often as the others): the engine traps every access at every site, whatever
// the backend, and with patched traps hundreds of sites need no single-stepping.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "traps/trapped_run.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/runner.hpp"

using namespace cr3rig;

namespace {

constexpr uint64_t kAccesses = 4096;  // CR3_ACCESSES in guest/tests/cr3_sites.c

struct SitesRun {
    TrappedResult result;
    std::map<uint64_t, uint64_t> reads_at, writes_at;  // site address -> times trapped there
};

SitesRun run_sites(int sites, TrapBackend backend)
{
    SitesRun run;
    TrapOptions options;
    options.backend = backend;
    options.on_event = [&run](const TrapEvent& e) {
        if (e.kind == EventKind::Cr3Read)
            run.reads_at[e.rip]++;
        else if (e.kind == EventKind::Cr3Write)
            run.writes_at[e.rip]++;
    };
    ElfImage image = ElfImage::read_file(std::string(CR3RIG_GUEST_DIR "/cr3-sites-") + std::to_string(sites) + ".elf");
    RunOptions run_options;
    run_options.timeout = std::chrono::seconds(120);
    run.result = TrappedRun(image, std::move(options)).run(run_options);
    return run;
}

// Every access trapped, at every site, each site as often as the others; and the
// guest, which counts its own, says it made them all.
void check_every_access(const SitesRun& run, int sites)
{
    const TrappedResult& r = run.result;
    INFO(r.backend << ": " << r.run.verdict.reason);
    CHECK(r.run.verdict.passed());
    CHECK_THAT(r.run.console, Catch::Contains("cr3-sites: 4096 CR3 accesses at " + std::to_string(sites) + " sites"));
    uint64_t reads = sites == 1 ? kAccesses : kAccesses / 2;
    CHECK(r.stats.reads == reads);
    CHECK(r.stats.writes == kAccesses - reads);
    CHECK(r.stats.reads + r.stats.writes == kAccesses);
    size_t read_sites = sites == 1 ? 1 : static_cast<size_t>(sites) / 2;
    CHECK(run.reads_at.size() == read_sites);
    CHECK(run.writes_at.size() == static_cast<size_t>(sites) - read_sites);
    uint64_t per_site = kAccesses / static_cast<uint64_t>(sites);
    for (const auto& [rip, count] : run.reads_at) {
        INFO("read site " << std::hex << rip);
        CHECK(count == per_site);
    }
    for (const auto& [rip, count] : run.writes_at) {
        INFO("write site " << std::hex << rip);
        CHECK(count == per_site);
    }
}

}  // namespace

// Past four sites the engine patches them (it used to single-step every instruction,
// which counts right too but costs an exit per instruction): no step at all here.
TEST_CASE("512 CR3 sites: every access trapped without single-stepping", "[patched]")
{
    SitesRun run = run_sites(512, TrapBackend::Auto);
    check_every_access(run, 512);
    INFO("backend: " << run.result.backend);
    CHECK(run.result.backend.rfind("single-step", 0) != 0);
    CHECK(run.result.stats.single_steps == 0);
    CHECK(run.result.stats.patched_exits == kAccesses);
}

TEST_CASE("cr3-sites guests with 1 and 64 sites: every access trapped by the engine's choice")
{
    int sites = GENERATE(1, 64);
    check_every_access(run_sites(sites, TrapBackend::Auto), sites);
}

TEST_CASE("8 CR3 sites forced to single-step (--trap-backend step): the same counts")
{
    SitesRun run = run_sites(8, TrapBackend::SingleStep);
    check_every_access(run, 8);
    CHECK_THAT(run.result.backend, Catch::StartsWith("single-step"));
}
