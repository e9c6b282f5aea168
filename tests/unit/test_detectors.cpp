// The detectors (stale CR3 write, CR3 != active_mm, page-fault livelock) on synthetic
// TrapEvent streams: no KVM, no guest.
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <vector>

#include "traps/detectors.hpp"

using namespace cr3rig;

namespace {

constexpr uint64_t kPgdA = 0x1000, kPgdB = 0x2000, kPgdC = 0x3000;
constexpr uint64_t kRspS = 0x7000, kRspT = 0x7100, kRspX = 0x8000, kRspY = 0x9000;
constexpr uint64_t kReadRip = 0x100b80, kWriteRip = 0x100b90;

// Builds events with increasing sequence numbers.
struct Stream {
    uint64_t next_seq = 1;

    TrapEvent make(EventKind kind, uint64_t rip, uint64_t rsp, uint64_t cr3, uint64_t value)
    {
        TrapEvent e;
        e.seq = next_seq++;
        e.kind = kind;
        e.rip = rip;
        e.rsp = rsp;
        e.cr3 = cr3;
        e.value = value;
        return e;
    }
    // mov %cr3,reg in the frame at rsp, reading value (CR3 is that value).
    TrapEvent read(uint64_t rsp, uint64_t value) { return make(EventKind::Cr3Read, kReadRip, rsp, value, value); }
    // mov reg,%cr3 in the frame at rsp, writing value while CR3 is cr3.
    TrapEvent write(uint64_t rsp, uint64_t value, uint64_t cr3)
    {
        return make(EventKind::Cr3Write, kWriteRip, rsp, cr3, value);
    }
    TrapEvent fault(uint64_t fault_rip, uint64_t fault_addr, uint64_t cr3 = kPgdA)
    {
        TrapEvent e = make(EventKind::PageFault, 0xffff0e00, 0x6000, cr3, 0);
        e.fault_rip = fault_rip;
        e.fault_addr = fault_addr;
        e.error_code = 4;
        e.own_mm_pgd = kPgdB;
        e.guest_ns = 1000 * e.seq;
        e.host_ns = 3000 * e.seq;
        return e;
    }
};

std::vector<Finding> feed(StaleWriteDetector& d, const std::vector<TrapEvent>& events)
{
    std::vector<Finding> out;
    for (const auto& e : events)
        if (auto f = d.on_event(e))
            out.push_back(*f);
    return out;
}

std::vector<Finding> feed_livelock(uint64_t threshold, const std::vector<TrapEvent>& events)
{
    FaultLivelockDetector d(threshold);
    for (const auto& e : events)
        d.on_event(e);  // livelocks surface only from finish()
    return d.finish();
}

}  // namespace

// --- StaleWriteDetector ---------------------------------------------------------------

TEST_CASE("stale write: a frame writes back the value it read after CR3 changed under it")
{
    Stream s;
    StaleWriteDetector d;
    TrapEvent read = s.read(kRspS, kPgdA);
    TrapEvent other = s.write(kRspX, kPgdB, kPgdA);  // preempted: someone switches to B
    TrapEvent stale = s.write(kRspS, kPgdA, kPgdB);  // our frame puts A back
    CHECK_FALSE(d.on_event(read).has_value());
    CHECK_FALSE(d.on_event(other).has_value());
    auto f = d.on_event(stale);
    REQUIRE(f.has_value());
    CHECK(f->kind == FindingKind::StaleCr3Write);
    CHECK(f->seq == stale.seq);
    CHECK(f->value == kPgdA);
    CHECK(f->expected == kPgdB);
    CHECK(f->site == kWriteRip);
    CHECK(f->other_site == kReadRip);
    CHECK(f->writes_between == std::vector<uint64_t>{kPgdB});
    CHECK_THAT(f->summary, Catch::Contains("0x1000"));
}

TEST_CASE("stale write: writes_between lists only writes after the read, in order")
{
    Stream s;
    StaleWriteDetector d;
    auto findings = feed(d, {s.write(kRspX, kPgdC, kPgdA),  // before the read: not in between
                             s.read(kRspS, kPgdA), s.write(kRspX, kPgdB, kPgdA), s.write(kRspY, kPgdC, kPgdB),
                             s.write(kRspS, kPgdA, kPgdC)});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].expected == kPgdC);
    CHECK(findings[0].writes_between == std::vector<uint64_t>{kPgdB, kPgdC});
}

TEST_CASE("stale write: a legitimate flush (read A, write A while CR3 is A) is not reported")
{
    Stream s;
    StaleWriteDetector d;
    CHECK(feed(d, {s.read(kRspS, kPgdA), s.write(kRspS, kPgdA, kPgdA)}).empty());
}

TEST_CASE("stale write: preempted, but CR3 restored before the write, is not reported")
{
    Stream s;
    StaleWriteDetector d;
    CHECK(feed(d, {s.read(kRspS, kPgdA), s.write(kRspX, kPgdB, kPgdA), s.write(kRspY, kPgdA, kPgdB),
                   s.write(kRspS, kPgdA, kPgdA)})
              .empty());
}

TEST_CASE("stale write: a write from a different frame (rsp) is not paired with the read")
{
    Stream s;
    StaleWriteDetector d;
    CHECK(feed(d, {s.read(kRspS, kPgdA), s.write(kRspT, kPgdA, kPgdB)}).empty());
}

TEST_CASE("stale write: writing a different value than was read is not reported")
{
    Stream s;
    StaleWriteDetector d;
    CHECK(feed(d, {s.read(kRspS, kPgdA), s.write(kRspS, kPgdC, kPgdB)}).empty());
}

TEST_CASE("stale write: a read is paired with one write only")
{
    Stream s;
    StaleWriteDetector d;
    auto findings = feed(d, {s.read(kRspS, kPgdA), s.write(kRspX, kPgdB, kPgdA), s.write(kRspS, kPgdA, kPgdB),
                             s.write(kRspX, kPgdB, kPgdA), s.write(kRspS, kPgdA, kPgdB)});
    CHECK(findings.size() == 1);
}

TEST_CASE("stale write: a flush that consumed the read leaves nothing to pair")
{
    Stream s;
    StaleWriteDetector d;
    // Legit flush at S, then CR3 changes, then another write of A at S without a new read.
    CHECK(feed(d, {s.read(kRspS, kPgdA), s.write(kRspS, kPgdA, kPgdA), s.write(kRspX, kPgdB, kPgdA),
                   s.write(kRspS, kPgdA, kPgdB)})
              .empty());
}

TEST_CASE("stale write: page faults and injections are ignored")
{
    Stream s;
    StaleWriteDetector d;
    TrapEvent inj = s.make(EventKind::Injection, 0x100b83, kRspS, kPgdA, 32);
    auto findings = feed(d, {s.read(kRspS, kPgdA), inj, s.fault(0x400000, 0x400000), s.write(kRspX, kPgdB, kPgdA),
                             s.write(kRspS, kPgdA, kPgdB)});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].writes_between == std::vector<uint64_t>{kPgdB});
}

// --- ActiveMmDetector -----------------------------------------------------------------

TEST_CASE("active_mm: a write of another value than current->active_mm's pgd is reported")
{
    Stream s;
    ActiveMmDetector d;
    TrapEvent w = s.write(kRspS, kPgdA, kPgdB);
    w.active_mm_pgd = kPgdC;
    auto f = d.on_event(w);
    REQUIRE(f.has_value());
    CHECK(f->kind == FindingKind::Cr3NotActiveMm);
    CHECK(f->seq == w.seq);
    CHECK(f->site == kWriteRip);
    CHECK(f->value == kPgdA);
    CHECK(f->expected == kPgdC);
}

TEST_CASE("active_mm: a write of the active_mm pgd, or without the symbol, is not reported")
{
    Stream s;
    ActiveMmDetector d;
    TrapEvent equal = s.write(kRspS, kPgdA, kPgdB);
    equal.active_mm_pgd = kPgdA;
    CHECK_FALSE(d.on_event(equal).has_value());

    TrapEvent unknown = s.write(kRspS, kPgdA, kPgdB);
    REQUIRE_FALSE(unknown.active_mm_pgd.has_value());
    CHECK_FALSE(d.on_event(unknown).has_value());
}

TEST_CASE("active_mm: reads are ignored even when they differ from active_mm")
{
    Stream s;
    ActiveMmDetector d;
    TrapEvent r = s.read(kRspS, kPgdA);
    r.active_mm_pgd = kPgdB;
    CHECK_FALSE(d.on_event(r).has_value());
}

// --- FaultLivelockDetector ------------------------------------------------------------

TEST_CASE("livelock: 10 faults at one rip and address give one finding with count and time stuck")
{
    Stream s;
    std::vector<TrapEvent> faults;
    for (int i = 0; i < 10; i++)
        faults.push_back(s.fault(0x400123, 0x401000, kPgdA));
    auto found = feed_livelock(8, faults);
    REQUIRE(found.size() == 1);
    const Finding& f = found[0];
    CHECK(f.kind == FindingKind::FaultLivelock);
    CHECK(f.count == 10);
    CHECK(f.seq == faults.front().seq);
    CHECK(f.site == 0x400123);
    CHECK(f.guest_ns == faults.back().guest_ns - faults.front().guest_ns);
    CHECK(f.host_ns == faults.back().host_ns - faults.front().host_ns);
    CHECK(f.guest_ns == 9000);
    CHECK(f.host_ns == 27000);
    CHECK(f.value == kPgdA);
    CHECK(f.expected == kPgdB);  // own_mm_pgd
}

TEST_CASE("livelock: a streak below the threshold is not reported, exactly the threshold is")
{
    Stream s;
    std::vector<TrapEvent> seven, eight;
    for (int i = 0; i < 7; i++)
        seven.push_back(s.fault(0x400123, 0x401000));
    CHECK(feed_livelock(8, seven).empty());
    for (int i = 0; i < 8; i++)
        eight.push_back(s.fault(0x400123, 0x401000));
    auto found = feed_livelock(8, eight);
    REQUIRE(found.size() == 1);
    CHECK(found[0].count == 8);
}

TEST_CASE("livelock: faults alternating between two addresses are not a streak")
{
    Stream s;
    std::vector<TrapEvent> faults;
    for (int i = 0; i < 20; i++)
        faults.push_back(s.fault(0x400123, i % 2 ? 0x401000 : 0x402000));
    CHECK(feed_livelock(8, faults).empty());
}

TEST_CASE("livelock: same address from a different rip breaks the streak")
{
    Stream s;
    std::vector<TrapEvent> faults;
    for (int i = 0; i < 12; i++)
        faults.push_back(s.fault(i % 2 ? 0x400123 : 0x400200, 0x401000));
    CHECK(feed_livelock(8, faults).empty());
}

TEST_CASE("livelock: two separate streaks of 9 give two findings in order")
{
    Stream s;
    std::vector<TrapEvent> faults;
    for (int i = 0; i < 9; i++)
        faults.push_back(s.fault(0x400123, 0x401000));
    for (int i = 0; i < 9; i++)
        faults.push_back(s.fault(0x400456, 0x402000));
    auto found = feed_livelock(8, faults);
    REQUIRE(found.size() == 2);
    CHECK(found[0].count == 9);
    CHECK(found[0].site == 0x400123);
    CHECK(found[0].seq == faults[0].seq);
    CHECK(found[0].guest_ns == faults[8].guest_ns - faults[0].guest_ns);
    CHECK(found[1].count == 9);
    CHECK(found[1].site == 0x400456);
    CHECK(found[1].seq == faults[9].seq);
    CHECK(found[1].guest_ns == faults[17].guest_ns - faults[9].guest_ns);
}

TEST_CASE("livelock: other events between the faults of a streak do not break it")
{
    Stream s;
    std::vector<TrapEvent> events;
    uint64_t first_seq = 0;
    for (int i = 0; i < 10; i++) {
        TrapEvent f = s.fault(0x400123, 0x401000);
        if (i == 0)
            first_seq = f.seq;
        events.push_back(f);
        events.push_back(s.read(kRspS, kPgdA));
        events.push_back(s.write(kRspS, kPgdA, kPgdA));
        events.push_back(s.make(EventKind::Injection, 0x100b83, kRspS, kPgdA, 32));
    }
    auto found = feed_livelock(8, events);
    REQUIRE(found.size() == 1);
    CHECK(found[0].count == 10);
    CHECK(found[0].seq == first_seq);
}

TEST_CASE("livelock: without own_mm_pgd the expected value is 0")
{
    Stream s;
    std::vector<TrapEvent> faults;
    for (int i = 0; i < 8; i++) {
        faults.push_back(s.fault(0x400123, 0x401000, kPgdC));
        faults.back().own_mm_pgd.reset();
    }
    auto found = feed_livelock(8, faults);
    REQUIRE(found.size() == 1);
    CHECK(found[0].value == kPgdC);
    CHECK(found[0].expected == 0);
}

// --- Detectors and describe() -----------------------------------------------------------

TEST_CASE("Detectors reports stale and active_mm findings at once and everything by seq at finish")
{
    Stream s;
    Detectors d(8);
    std::vector<TrapEvent> events;
    // A livelock streak that starts first (seq 1..10) but is only complete at finish().
    for (int i = 0; i < 10; i++)
        events.push_back(s.fault(0x400123, 0x401000));
    events.push_back(s.read(kRspS, kPgdA));
    events.push_back(s.write(kRspX, kPgdB, kPgdA));
    TrapEvent stale = s.write(kRspS, kPgdA, kPgdB);
    stale.active_mm_pgd = kPgdB;  // also not active_mm's pgd
    TrapEvent mismatch = s.write(kRspY, kPgdC, kPgdA);
    mismatch.active_mm_pgd = kPgdB;

    for (const auto& e : events)
        CHECK(d.on_event(e).empty());
    auto now = d.on_event(stale);
    REQUIRE(now.size() == 2);
    CHECK(now[0].kind == FindingKind::StaleCr3Write);
    CHECK(now[1].kind == FindingKind::Cr3NotActiveMm);
    auto later = d.on_event(mismatch);
    REQUIRE(later.size() == 1);
    CHECK(later[0].kind == FindingKind::Cr3NotActiveMm);
    CHECK(later[0].seq == mismatch.seq);

    auto all = d.finish();
    REQUIRE(all.size() == 4);
    CHECK(all[0].kind == FindingKind::FaultLivelock);
    CHECK(all[0].seq == events[0].seq);
    CHECK(all[0].count == 10);
    CHECK(all[1].kind == FindingKind::StaleCr3Write);
    CHECK(all[1].seq == stale.seq);
    CHECK(all[2].kind == FindingKind::Cr3NotActiveMm);
    CHECK(all[2].seq == stale.seq);
    CHECK(all[3].kind == FindingKind::Cr3NotActiveMm);
    CHECK(all[3].seq == mismatch.seq);
    for (size_t i = 1; i < all.size(); i++)
        CHECK(all[i - 1].seq <= all[i].seq);
}

TEST_CASE("Detectors orders a livelock that started late after earlier findings")
{
    Stream s;
    Detectors d(8);
    TrapEvent w = s.write(kRspS, kPgdA, kPgdB);
    w.active_mm_pgd = kPgdB;
    CHECK(d.on_event(w).size() == 1);
    for (int i = 0; i < 9; i++)
        d.on_event(s.fault(0x400123, 0x401000));
    TrapEvent w2 = s.write(kRspS, kPgdC, kPgdA);
    w2.active_mm_pgd = kPgdA;
    CHECK(d.on_event(w2).size() == 1);
    auto all = d.finish();
    REQUIRE(all.size() == 3);
    CHECK(all[0].kind == FindingKind::Cr3NotActiveMm);
    CHECK(all[0].seq == w.seq);
    CHECK(all[1].kind == FindingKind::FaultLivelock);
    CHECK(all[1].seq == w.seq + 1);
    CHECK(all[2].kind == FindingKind::Cr3NotActiveMm);
    CHECK(all[2].seq == w2.seq);
}

TEST_CASE("Detectors::finish with no events returns nothing")
{
    Detectors d(8);
    CHECK(d.finish().empty());
}

TEST_CASE("describe() starts with the finding kind's name followed by the summary")
{
    Finding f{FindingKind::StaleCr3Write, 43, "at write_cr3", 0, 0, 0, 0, {}, 0, 0, 0};
    CHECK(describe(f) == "stale-cr3-write: at write_cr3");
    f.kind = FindingKind::Cr3NotActiveMm;
    CHECK_THAT(describe(f), Catch::StartsWith("cr3-not-active-mm: "));
    f.kind = FindingKind::FaultLivelock;
    CHECK_THAT(describe(f), Catch::StartsWith("page-fault-livelock: "));
}

TEST_CASE("describe() of real findings names the kind and the values involved")
{
    Stream s;
    StaleWriteDetector d;
    d.on_event(s.read(kRspS, kPgdA));
    d.on_event(s.write(kRspX, kPgdB, kPgdA));
    TrapEvent stale = s.write(kRspS, kPgdA, kPgdB);
    stale.symbol = "write_cr3";
    auto f = d.on_event(stale);
    REQUIRE(f.has_value());
    std::string text = describe(*f);
    CHECK_THAT(text, Catch::StartsWith("stale-cr3-write: "));
    CHECK_THAT(text, Catch::Contains("write_cr3 (0x100b90)"));
    CHECK_THAT(text, Catch::Contains("seq 3"));
    CHECK_THAT(text, Catch::Contains("0x2000"));
}
