// The benchmark's gdb-stub peer (harness/peer_gdbstub.hpp) does what it claims: gdb,
// through QEMU's gdb stub, stops at mb-cr3-switch's CR3 read and write sites exactly as
// often as asked, in the guest's order, and sees every access the rig's trap engine sees.
#include <algorithm>
#include <catch2/catch.hpp>

#include "harness/peer_gdbstub.hpp"
#include "traps/trapped_run.hpp"
#include "vmm/elf_loader.hpp"
#include "vmm/runner.hpp"

using namespace cr3rig;
using namespace cr3rig::bench;

namespace {

const std::string kImage = CR3RIG_GUEST_DIR "/mb-cr3-switch.elf";
const std::string kElf64 = CR3RIG_GUEST_DIR "/mb-cr3-switch.elf64";

}  // namespace

TEST_CASE("gdb stops at mb-cr3-switch's CR3 read and write sites in turn, as often as asked")
{
    Cr3SitePair sites = find_cr3_switch_sites(kImage, kElf64);
    REQUIRE(sites.read != sites.write);
    const int asked = 9;  // odd: the last stop is a read
    GdbStubSession session = run_gdbstub_session(kImage, sites, asked);
    INFO(session.output);
    REQUIRE(session.hits.size() == static_cast<size_t>(asked));
    for (size_t i = 0; i < session.hits.size(); i++) {
        INFO("stop " << i);
        CHECK(session.hits[i] == (i % 2 == 0 ? sites.read : sites.write));  // read first, then write, read, ...
    }
    CHECK(session.window_ns > 0);
    CHECK(session.guest_finished);  // the guest ran on to its end once the breakpoints were gone
    CHECK_FALSE(session_problem(session, sites, asked).has_value());
}

TEST_CASE("gdb through QEMU and the rig's trap engine see the same CR3 accesses of the same code")
{
    Cr3SitePair sites = find_cr3_switch_sites(kImage, kElf64);
    // More stops than the guest has accesses: the session ends with the guest, and the
    // count is then every access gdb saw.
    GdbStubSession session = run_gdbstub_session(kImage, sites, 2000);
    INFO(session.output.substr(0, 4000));
    size_t reads = std::count(session.hits.begin(), session.hits.end(), sites.read);
    size_t writes = std::count(session.hits.begin(), session.hits.end(), sites.write);
    CHECK(reads + writes == session.hits.size());

    ElfImage image = ElfImage::read_file(CR3RIG_GUEST_DIR "/cr3-switch.elf");
    TrappedResult rig = TrappedRun(image, TrapOptions{}).run(RunOptions{});
    REQUIRE(rig.run.verdict.kind == VerdictKind::Pass);
    CHECK(reads == rig.stats.reads);
    CHECK(writes == rig.stats.writes);
    CHECK(session_problem(session, sites, 2000).value_or("") ==
          std::to_string(reads + writes) + " breakpoint stops, asked for 2000");
}
