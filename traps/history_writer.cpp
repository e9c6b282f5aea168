#include "traps/history_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/errors.hpp"
#include "common/hex.hpp"
#include "traps/finding_json.hpp"

namespace cr3rig {

namespace {
constexpr size_t kFlushBytes = 1 << 16;

// Task names and symbols come from the guest: bytes that are not UTF-8 are replaced
// rather than allowed to abort the history.
std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }
}  // namespace

HistoryWriter::HistoryWriter(const std::string& path)
    : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644))
{
    if (fd_ < 0)
        throw BadInput("cannot write trace file " + path + ": " + std::strerror(errno));
}

HistoryWriter::~HistoryWriter()
{
    try {
        flush();
    } catch (const std::runtime_error&) {
        // Only when the run already ended by an exception: that one is reported.
    }
    ::close(fd_);
}

void HistoryWriter::line(const std::string& json)
{
    if (buffer_.empty())
        first_buffered_ = std::chrono::steady_clock::now();
    buffer_ += json;
    buffer_ += '\n';
    if (buffer_.size() >= kFlushBytes)
        flush();
    else
        flush_if_due();
}

void HistoryWriter::flush_if_due()
{
    if (!buffer_.empty() && std::chrono::steady_clock::now() - first_buffered_ >= kFlushInterval)
        flush();
}

// One write(2) for the whole chunk, so the file never ends inside a record unless the
// disk is full; a short write is retried for the rest. A history that cannot be
// written ends the run (HistoryWriteError): a run whose --trace silently stops is a
// run whose record cannot be trusted.
void HistoryWriter::flush()
{
    std::string chunk;
    chunk.swap(buffer_);  // dropped even when writing fails: the destructor must not retry
    for (size_t off = 0; off < chunk.size();) {
        ssize_t n = ::write(fd_, chunk.data() + off, chunk.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw HistoryWriteError("cannot write trace file " + path_ + ": " +
                                    (n < 0 ? std::strerror(errno) : "no progress"));
        off += static_cast<size_t>(n);
    }
}

void HistoryWriter::header(const std::string& guest, const std::string& policy, const std::string& backend)
{
    line(dump(nlohmann::json{{"type", "run"}, {"format", "cr3rig-history/1"}, {"guest", guest}, {"inject", policy},
                        {"backend", backend}}));
}

void HistoryWriter::event(const TrapEvent& e)
{
    nlohmann::json j{{"type", name_of(e.kind)}, {"seq", e.seq},         {"rip", hex(e.rip)},
                     {"symbol", e.symbol},      {"rsp", hex(e.rsp)},     {"guest_ns", e.guest_ns},
                     {"host_ns", e.host_ns}};
    switch (e.kind) {
    case EventKind::Cr3Read:
        j["cr3_before"] = hex(e.cr3);
        j["cr3_after"] = hex(e.cr3);
        j["value"] = hex(e.value);
        break;
    case EventKind::Cr3Write:
        j["cr3_before"] = hex(e.cr3);
        j["cr3_after"] = hex(e.value);
        j["value"] = hex(e.value);
        break;
    case EventKind::Injection:
        j["cr3_before"] = j["cr3_after"] = hex(e.cr3);
        j["vector"] = e.value;
        break;
    case EventKind::PageFault:
        j["cr3_before"] = j["cr3_after"] = hex(e.cr3);
        j["fault_rip"] = hex(e.fault_rip);
        j["fault_addr"] = hex(e.fault_addr);
        j["error_code"] = e.error_code;
        break;
    case EventKind::Flush:
        j["cr3_before"] = j["cr3_after"] = hex(e.cr3);
        j["instruction"] = e.instruction;
        if (e.instruction == "cr4-write")
            j["cr4_after"] = hex(e.value);
        break;
    }
    if (e.task)
        j["task"] = {{"pid", e.task->pid}, {"name", e.task->name}};
    if (e.active_mm_pgd)
        j["active_mm_pgd"] = hex(*e.active_mm_pgd);
    if (e.own_mm_pgd)
        j["mm_pgd"] = hex(*e.own_mm_pgd);
    line(dump(j));
}

void HistoryWriter::finding(const Finding& f)
{
    nlohmann::json j{{"type", "finding"}};
    j.update(finding_json(f));
    line(dump(j));
    flush();  // a finding is what a user kills a long run after seeing
}

void HistoryWriter::verdict(const std::string& verdict, const std::string& reason)
{
    line(dump(nlohmann::json{{"type", "verdict"}, {"verdict", verdict}, {"reason", reason}}));
    flush();
}

}  // namespace cr3rig
