#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/errors.hpp"
#include "report/history.hpp"

namespace cr3rig::report {

namespace {

using nlohmann::json;

// One record of the stream, with where it stands for error messages.
class Record {
public:
    Record(const json& j, const std::string& where) : j_(j), where_(where) {}

    [[noreturn]] void fail(const std::string& what) const { throw BadInput(where_ + ": " + what); }

    bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

    std::string string(const char* key, bool required = false) const
    {
        if (!has(key)) {
            if (required)
                fail("missing field '" + std::string(key) + "'");
            return "";
        }
        if (!j_[key].is_string())
            fail("field '" + std::string(key) + "' must be a string");
        return j_[key].get<std::string>();
    }

    std::optional<uint64_t> number(const char* key) const
    {
        if (!has(key))
            return std::nullopt;
        if (!j_[key].is_number_unsigned())
            fail("field '" + std::string(key) + "' must be a number >= 0");
        return j_[key].get<uint64_t>();
    }

    uint64_t required_number(const char* key) const
    {
        auto v = number(key);
        if (!v)
            fail("missing field '" + std::string(key) + "'");
        return *v;
    }

    // Addresses and CR3 values are hex strings ("0x80a000").
    std::optional<uint64_t> hex(const char* key) const
    {
        if (!has(key))
            return std::nullopt;
        return parse_hex(j_[key], key);
    }

    uint64_t required_hex(const char* key) const
    {
        auto v = hex(key);
        if (!v)
            fail("missing field '" + std::string(key) + "'");
        return *v;
    }

    uint64_t parse_hex(const json& v, const std::string& key) const
    {
        const std::string* s = v.get_ptr<const std::string*>();
        bool ok = s && s->size() > 2 && s->size() <= 18 && (*s)[0] == '0' && ((*s)[1] == 'x' || (*s)[1] == 'X') &&
                  s->find_first_not_of("0123456789abcdefABCDEF", 2) == std::string::npos;
        if (!ok)
            fail("field '" + key + "' must be a hex string like \"0x1000\"");
        return std::stoull(s->substr(2), nullptr, 16);
    }

    const json& at(const char* key) const { return j_[key]; }

private:
    const json& j_;
    std::string where_;
};

std::optional<EventKind> event_kind(const std::string& type)
{
    for (EventKind k : {EventKind::Cr3Read, EventKind::Cr3Write, EventKind::Injection, EventKind::PageFault,
                        EventKind::Flush})
        if (type == name_of(k))
            return k;
    return std::nullopt;
}

std::optional<FindingKind> finding_kind(const std::string& kind)
{
    for (FindingKind k : {FindingKind::StaleCr3Write, FindingKind::Cr3NotActiveMm, FindingKind::FaultLivelock,
                          FindingKind::GuestDisagrees})
        if (kind == name_of(k))
            return k;
    return std::nullopt;
}

TrapEvent read_event(const Record& r, EventKind kind, bool* has_guest_time)
{
    TrapEvent e;
    e.kind = kind;
    e.seq = r.required_number("seq");
    e.rip = r.hex("rip").value_or(0);
    e.symbol = r.string("symbol");
    e.rsp = r.hex("rsp").value_or(0);
    e.cr3 = r.required_hex("cr3_before");
    switch (kind) {
    case EventKind::Cr3Read:
    case EventKind::Cr3Write: e.value = r.required_hex("value"); break;
    case EventKind::Injection: e.value = r.number("vector").value_or(0); break;
    case EventKind::PageFault:
        e.fault_rip = r.hex("fault_rip").value_or(0);
        e.fault_addr = r.hex("fault_addr").value_or(0);
        e.error_code = r.number("error_code").value_or(0);
        break;
    case EventKind::Flush:
        e.instruction = r.string("instruction");
        e.value = r.hex("cr4_after").value_or(0);
        break;
    }
    auto guest_ns = r.number("guest_ns");
    *has_guest_time = *has_guest_time && guest_ns.has_value();
    e.guest_ns = guest_ns.value_or(0);
    e.host_ns = r.number("host_ns").value_or(0);
    if (r.has("task")) {
        const json& t = r.at("task");
        if (!t.is_object() || !t.contains("pid") || !t["pid"].is_number_integer() ||
            (t.contains("name") && !t["name"].is_string()))
            r.fail("field 'task' must be {\"pid\": number, \"name\": string}");
        e.task = TaskId{t["pid"].get<int64_t>(), t.value("name", std::string())};
    }
    e.active_mm_pgd = r.hex("active_mm_pgd");
    e.own_mm_pgd = r.hex("mm_pgd");
    return e;
}

Finding read_finding(const Record& r)
{
    std::string kind = r.string("kind", true);
    auto k = finding_kind(kind);
    if (!k)
        r.fail("unknown finding kind '" + kind + "'");
    Finding f{*k, r.required_number("seq"), r.string("summary"), 0, 0, 0, 0, {}, 0, 0, 0};
    f.site = r.hex("site").value_or(0);
    f.other_site = r.hex("read_site").value_or(0);
    f.value = r.hex("value").value_or(0);
    f.expected = r.hex("expected").value_or(0);
    if (r.has("writes_between")) {
        if (!r.at("writes_between").is_array())
            r.fail("field 'writes_between' must be an array");
        for (const json& v : r.at("writes_between"))
            f.writes_between.push_back(r.parse_hex(v, "writes_between"));
    }
    f.count = r.number("count").value_or(0);
    f.guest_ns = r.number("guest_ns").value_or(0);
    f.host_ns = r.number("host_ns").value_or(0);
    f.unresolved = f.summary.find("still faulting when the run ended") != std::string::npos;
    return f;
}

void read_header(const Record& r, History& h)
{
    if (r.string("type") != "run")
        r.fail("expected the run header ({\"type\":\"run\",...}) as the first line");
    std::string format = r.string("format");
    if (format != kHistoryFormat)
        r.fail(format.empty() ? std::string("run header has no format")
                              : "unknown format '" + format + "' (this cr3rig reads " + kHistoryFormat + ")");
    h.run = {r.string("guest"), r.string("inject"), r.string("backend")};
}

// nlohmann's message, without its "[json.exception.parse_error.101] " prefix.
std::string parse_message(const json::exception& e)
{
    std::string what = e.what();
    auto end = what.find("] ");
    return end == std::string::npos ? what : what.substr(end + 2);
}

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

History read_history(std::istream& in, const std::string& name)
{
    History h;
    h.name = name;
    bool header_seen = false;
    size_t skipped = 0;
    std::string first_skipped;
    std::string line;
    for (size_t number = 1; std::getline(in, line); number++) {
        bool complete = !in.eof();  // getline stopped at a newline, not at the end of the input
        if (blank(line))
            continue;
        std::string where = name + " line " + std::to_string(number);
        json j;
        try {
            j = json::parse(line);
        } catch (const json::exception& e) {  // a syntax error, or a number too large (out_of_range)
            if (!complete && header_seen) {
                h.warnings.push_back(where + ": the last line is cut short (a killed run?): read the " +
                                     std::to_string(number - 1) + " lines before it");
                break;
            }
            throw BadInput(where + ": not JSON: " + parse_message(e));
        }
        if (!j.is_object())
            throw BadInput(where + ": not a JSON object");
        Record r(j, where);
        if (!header_seen) {
            read_header(r, h);
            header_seen = true;
            continue;
        }
        std::string type = r.string("type", true);
        if (auto kind = event_kind(type))
            h.events.push_back(read_event(r, *kind, &h.has_guest_time));
        else if (type == "finding")
            h.findings.push_back(read_finding(r));
        else if (type == "verdict")
            h.verdict = RunVerdict{r.string("verdict", true), r.string("reason")};
        else if (type == "run")
            r.fail("a second run header: two histories in one file?");
        else if (skipped++ == 0)
            first_skipped = where + " ('" + type + "')";
    }
    if (!header_seen)
        throw BadInput(name + ": empty history: no run header (no lines at all)");
    if (skipped)
        h.warnings.push_back(std::to_string(skipped) + " record(s) of unknown type skipped, the first at " +
                             first_skipped);
    if (!h.verdict)
        h.warnings.push_back(name + ": no verdict line: the run did not finish (killed?); showing what it recorded");
    return h;
}

History read_history_file(const std::string& path)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw BadInput("trace " + path + " is a directory");
    if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
        throw BadInput("trace " + path + " is not a regular file");  // /dev/zero would never end
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw BadInput("cannot open trace " + path);
    return read_history(in, std::filesystem::path(path).filename().string());
}

}  // namespace cr3rig::report
