// The files `cr3rig run` writes besides its report: the serial log, and the names of
// every output when the buggy/fixed pair runs. What the rules are (docs in README, CLI):
// a path that cannot be opened is bad input (exit 2, before the run); a write that
// fails during the run ends the run as a host I/O error (exit 3), naming the path.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

namespace cr3rig::cli {

// The guest's console, also written to --serial-log FILE, flushed line by line so that
// a killed run leaves the log so far.
class SerialLog {
public:
    // Throws BadInput if `path` cannot be opened for writing.
    explicit SerialLog(std::string path);

    // Throws std::runtime_error naming the path when the file cannot take the text.
    void put(char c);
    // Flushes what the guest wrote after its last newline; throws as put() does.
    void finish();

private:
    void check(bool ok) const;

    struct Closer {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::string path_;
    std::unique_ptr<std::FILE, Closer> file_;
};

// Without a guest, `cr3rig run` writes each output once per kernel of the pair, beside
// the path it was given: ("build/t.jsonl", "buggy") -> "build/t-buggy.jsonl"; a path
// without an extension gets `default_extension`. Throws BadInput when `path` names
// something other than a regular file (a device, a directory): a name cannot be
// derived beside /dev/null.
std::string pair_output_path(const std::string& path, const std::string& which, const std::string& flag,
                             const std::string& default_extension);

}  // namespace cr3rig::cli
