#include "suite/manifest.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "common/errors.hpp"
#include "suite/duration.hpp"
#include "suite/hostability.hpp"

namespace cr3rig::suite {

bool ManifestEntry::in_group(std::string_view group) const
{
    return std::find(groups.begin(), groups.end(), group) != groups.end();
}

namespace {

constexpr std::string_view kTripleQuote = R"(""")";

std::string_view trim(std::string_view s)
{
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos)
        return {};
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// A '#' that starts the line or follows a blank, outside quotes, starts a comment.
std::string_view strip_comment(std::string_view line)
{
    char quote = 0;
    for (size_t i = 0; i < line.size(); i++) {
        char c = line[i];
        if (quote)
            quote = c == quote ? 0 : quote;
        else if (c == '\'' || c == '"')
            quote = c;
        else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
            return line.substr(0, i);
    }
    return line;
}

// Names become log file names and TAP/JUnit test names.
bool valid_name(std::string_view name)
{
    return !name.empty() && name[0] != '.' && name[0] != '-' && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("_-.+:@,").find(c) != std::string_view::npos;
    });
}

// smp's number, or 0 when it is none (a shell expression such as $MAX_SMP, or too big).
unsigned vcpu_count(std::string_view smp)
{
    unsigned n = 0;
    auto [end, ec] = std::from_chars(smp.data(), smp.data() + smp.size(), n);
    return ec == std::errc() && end == smp.data() + smp.size() ? n : 0;
}

std::vector<std::string> split_blanks(std::string_view text)
{
    std::vector<std::string> out;
    std::istringstream in{std::string(text)};
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

class Parser {
public:
    Parser(std::string_view text, std::filesystem::path source) : text_(text), source_(std::move(source)) {}

    std::vector<ManifestEntry> parse()
    {
        std::string_view line;
        while (next_line(line)) {
            std::string_view body = trim(strip_comment(line));
            if (body.empty())
                continue;
            if (body.front() == '[')
                start_section(body);
            else
                key_value(body, line);
        }
        finish_section();
        if (entries_.empty())
            throw BadInput(source_.string() + ": no tests in the manifest");
        return std::move(entries_);
    }

private:
    [[noreturn]] void fail(const std::string& what, unsigned line = 0) const
    {
        throw BadInput(source_.string() + ":" + std::to_string(line ? line : line_no_) + ": " + what);
    }

    // Runs f; a BadInput it throws gets this line's location.
    template <class F>
    auto checked(F&& f) const
    {
        try {
            return f();
        } catch (const BadInput& e) {
            fail(e.what());
        }
    }

    ShellWords words(std::string_view text) const
    {
        return checked([&] { return split_shell_words(text); });
    }

    bool next_line(std::string_view& line)
    {
        if (pos_ >= text_.size())
            return false;
        size_t end = std::min(text_.find('\n', pos_), text_.size());
        line = text_.substr(pos_, end - pos_);
        pos_ = end + 1;
        line_no_++;
        return true;
    }

    void start_section(std::string_view body)
    {
        if (body.back() != ']')
            fail("a section header must end with ']'");
        std::string name(trim(body.substr(1, body.size() - 2)));
        if (!valid_name(name))
            fail("bad test name '" + name + "': use letters, digits and _-.+:@, not starting with . or -");
        if (std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.name == name; }) ||
            (current_ && current_->name == name))
            fail("duplicate section [" + name + "]");
        finish_section();
        current_ = ManifestEntry{};
        current_->name = name;
        current_->line = line_no_;
        keys_.clear();
        test_args_ = params_ = {};
    }

    // `raw` is the line before comment stripping: a """ block's text keeps its '#'.
    void key_value(std::string_view body, std::string_view raw)
    {
        size_t eq = body.find('=');
        if (eq == std::string_view::npos)
            fail("expected 'key = value' or '[name]'");
        std::string key(trim(body.substr(0, eq)));
        std::string_view value = trim(body.substr(eq + 1));
        if (!current_)
            fail("'" + key + "' outside a [section]");
        bool is_params = key == "extra_params" || key == "qemu_params";
        if (!keys_.insert(is_params ? "extra_params" : key).second)
            fail("duplicate key '" + key + "' in [" + current_->name + "]");
        ManifestEntry& e = *current_;
        if (key == "extra_params" || key == "qemu_params" || key == "kvmtool_params") {
            std::string text = value.starts_with(kTripleQuote) ? triple_quoted(raw) : std::string(value);
            if (key != "kvmtool_params")  // for kvmtool only, as kvm-unit-tests' QEMU target ignores it
                params_ = words(text);
        } else if (key == "file") {
            if (value.empty())
                fail("empty file");
            e.file = value;
        } else if (key == "timeout") {
            e.timeout_s = checked([&] { return parse_duration(value); });
        } else if (key == "test_args") {
            test_args_ = words(value);
        } else if (key == "groups") {
            e.groups = split_blanks(value);
        } else if (key == "smp") {
            if (value.empty() || value.find_first_not_of('0') == std::string_view::npos)
                fail("smp must be a number of vCPUs, at least 1");
            e.smp = value;
            e.vcpus = vcpu_count(value);
        } else if (key == "check") {
            e.checks = split_blanks(value);
            for (const auto& c : e.checks)
                if (c.find('=') == std::string::npos || c.front() == '=')
                    fail("check wants PATH=VALUE, got '" + c + "'");
        } else if (key == "cr3rig_params") {
            e.rig_params = rig_params(words(value));
        } else if (key == "arch" || key == "machine" || key == "accel" || key == "disabled_if") {
            (key == "arch" ? e.arch : key == "machine" ? e.machine : key == "accel" ? e.accel : e.disabled_if) = value;
        } else {
            fail("unknown key '" + key + "' (known: file, test_args, extra_params, qemu_params, kvmtool_params, "
                 "groups, timeout, smp, arch, machine, accel, check, disabled_if, cr3rig_params)");
        }
    }

    // Every option word must be one of kRigParams (as --name or --name=value); the
    // words between are their values. `cr3rig run` checks the values.
    std::vector<std::string> rig_params(const ShellWords& w) const
    {
        if (w.has_expansion)
            fail("cr3rig_params: $ and ` expansions are not evaluated");
        for (const auto& word : w.words) {
            if (!word.starts_with("-"))
                continue;
            std::string_view name = std::string_view(word).substr(0, word.find('='));
            if (std::find(std::begin(kRigParams), std::end(kRigParams), name) != std::end(kRigParams))
                continue;
            std::string known;
            for (std::string_view k : kRigParams)
                known += (known.empty() ? "" : ", ") + std::string(k);
            fail("cr3rig_params: '" + std::string(name) + "' is not a trap-engine option of cr3rig run (" + known + ")");
        }
        return w.words;
    }

    // extra_params = """ ... """ spans lines, up to the line that ends with """.
    std::string triple_quoted(std::string_view first_line)
    {
        unsigned start = line_no_;
        std::string_view rest = first_line.substr(first_line.find(kTripleQuote) + kTripleQuote.size());
        std::string text;
        for (std::string_view line = rest;;) {
            std::string_view t = trim(line);
            if (t.ends_with(kTripleQuote))
                return text + std::string(t.substr(0, t.size() - kTripleQuote.size()));
            text += std::string(line) + "\n";
            if (!next_line(line))
                fail("unterminated \"\"\" block", start);
        }
    }

    void finish_section()
    {
        if (!current_)
            return;
        ManifestEntry& e = *current_;
        if (e.file.empty())
            fail("[" + e.name + "] has no file", e.line);
        GuestArguments args = checked([&] { return guest_arguments(test_args_, params_); });
        e.cmdline = args.cmdline;
        e.cpu = args.cpu;
        e.memory_mib = args.memory_mib;
        e.qemu_params = params_.words;
        e.skip_reason = static_skip_reason(e);
        e.unhostable = unhostable_reason(e, args);
        entries_.push_back(std::move(e));
        current_.reset();
    }

    std::string_view text_;
    std::filesystem::path source_;
    size_t pos_ = 0;
    unsigned line_no_ = 0;
    std::vector<ManifestEntry> entries_;
    std::optional<ManifestEntry> current_;
    std::set<std::string> keys_;
    ShellWords test_args_, params_;
};

}  // namespace

Manifest parse_manifest(std::string_view text, const std::filesystem::path& source)
{
    return Manifest{source, Parser(text, source).parse()};
}

Manifest load_manifest(const std::filesystem::path& path)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw BadInput("manifest " + path.string() + " is a directory");
    if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
        throw BadInput("manifest " + path.string() + " is not a regular file");  // /dev/zero would never end
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw BadInput("cannot read manifest " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    Manifest manifest = parse_manifest(text.str(), path);  // messages name the path as given
    manifest.path = std::filesystem::absolute(path);
    return manifest;
}

}  // namespace cr3rig::suite
