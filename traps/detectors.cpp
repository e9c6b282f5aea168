#include "traps/detectors.hpp"

#include <algorithm>
#include <cstdio>

#include "common/hex.hpp"

namespace cr3rig {

namespace {

constexpr size_t kRecentWrites = 256;

std::string where(const TrapEvent& e) { return e.symbol.empty() ? hex(e.rip) : e.symbol + " (" + hex(e.rip) + ")"; }

std::string task_of(const TrapEvent& e)
{
    if (!e.task)
        return "";
    return ", task " + e.task->name + " pid " + std::to_string(e.task->pid);
}

std::string ms(uint64_t ns)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
    return buf;
}

}  // namespace

std::optional<Finding> StaleWriteDetector::on_event(const TrapEvent& event)
{
    if (event.kind == EventKind::Cr3Read) {
        pending_reads_[event.rsp] = event;
        return std::nullopt;
    }
    if (event.kind != EventKind::Cr3Write)
        return std::nullopt;

    std::optional<Finding> finding;
    if (auto it = pending_reads_.find(event.rsp); it != pending_reads_.end()) {
        const TrapEvent read = it->second;
        pending_reads_.erase(it);
        if (event.value == read.value && event.cr3 != read.value) {
            Finding f{FindingKind::StaleCr3Write, event.seq, "", event.rip, read.rip, event.value, event.cr3, {}, 0, 0, 0};
            for (const auto& w : recent_writes_)
                if (w.seq > read.seq)
                    f.writes_between.push_back(w.value);
            f.summary = "at " + where(event) + ", seq " + std::to_string(event.seq) + ": wrote " +
                        hex(event.value) + ", the value read at " + where(read) + ", seq " + std::to_string(read.seq) +
                        ", by the same frame (rsp " + hex(event.rsp) + "); CR3 was " + hex(event.cr3) + " after " +
                        std::to_string(f.writes_between.size()) + " writes in between" + task_of(event);
            finding = f;
        }
    }
    recent_writes_.push_back(event);
    if (recent_writes_.size() > kRecentWrites)
        recent_writes_.erase(recent_writes_.begin());
    return finding;
}

std::optional<Finding> ActiveMmDetector::on_event(const TrapEvent& event)
{
    if (event.kind != EventKind::Cr3Write || !event.active_mm_pgd || event.value == *event.active_mm_pgd)
        return std::nullopt;
    Finding f{FindingKind::Cr3NotActiveMm, event.seq, "", event.rip, 0, event.value, *event.active_mm_pgd, {}, 0, 0, 0};
    f.summary = "the write at " + where(event) + ", seq " + std::to_string(event.seq) + " loads " + hex(event.value) +
                ", but current->active_mm's pgd is " + hex(*event.active_mm_pgd) + task_of(event);
    return f;
}

void FaultLivelockDetector::on_event(const TrapEvent& event)
{
    if (event.kind != EventKind::PageFault)
        return;
    if (first_ && (event.fault_rip != first_->fault_rip || event.fault_addr != first_->fault_addr))
        close_streak(false);
    if (!first_)
        first_ = event;
    last_ = event;
    count_++;
}

void FaultLivelockDetector::close_streak(bool unresolved)
{
    if (first_ && count_ >= threshold_) {
        const TrapEvent& e = *first_;
        Finding f{FindingKind::FaultLivelock, e.seq, "", e.fault_rip, 0, e.cr3, e.own_mm_pgd.value_or(0), {}, count_,
                  last_.guest_ns - e.guest_ns, last_.host_ns - e.host_ns};
        f.summary = std::to_string(count_) + " faults at rip " + hex(e.fault_rip) +
                    " addr " + hex(e.fault_addr) + task_of(e) + "; CR3 " + hex(e.cr3) +
                    (e.own_mm_pgd ? ", the task's own pgd " + hex(*e.own_mm_pgd) : std::string()) + "; stuck " +
                    ms(f.guest_ns) + " guest time, " + ms(f.host_ns) + " wall" +
                    (unresolved ? "; still faulting when the run ended" : "");
        f.unresolved = unresolved;
        livelocks_.push_back(f);
    }
    first_.reset();
    count_ = 0;
}

std::vector<Finding> FaultLivelockDetector::finish(bool stuck)
{
    close_streak(stuck);
    return livelocks_;
}

std::vector<Finding> Detectors::on_event(const TrapEvent& event)
{
    std::vector<Finding> now;
    if (auto f = stale_.on_event(event))
        now.push_back(*f);
    if (auto f = active_mm_.on_event(event))
        now.push_back(*f);
    livelock_.on_event(event);
    findings_.insert(findings_.end(), now.begin(), now.end());
    return now;
}

std::vector<Finding> Detectors::finish(bool stuck_in_livelock)
{
    std::vector<Finding> all = findings_;
    for (auto& f : livelock_.finish(stuck_in_livelock))
        all.push_back(f);
    std::stable_sort(all.begin(), all.end(), [](const Finding& a, const Finding& b) { return a.seq < b.seq; });
    return all;
}

}  // namespace cr3rig
