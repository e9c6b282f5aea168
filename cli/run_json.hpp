// `cr3rig run --json FILE`: one run as one JSON object for scripts (README, JSON
// outputs): the verdict, its exit code and reason, the findings, and the statistics
// --stats prints. The buggy/fixed pair writes one object holding both runs.
#pragma once

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "traps/trapped_run.hpp"
#include "vmm/runner.hpp"

namespace cr3rig::cli {

// What the trap engine adds to a run's object.
struct TrapJson {
    const TrappedResult& trapped;
    std::string inject;                       // the policy's text
    uint64_t rig_clock = 0;                   // exits per tick; kHostTime for host time
    std::optional<std::string> replay_token;  // when one replays the run (run_replay_token)
};

nlohmann::json run_json(const std::string& guest, const RunResult& result, const std::optional<TrapJson>& traps);

// The file, opened before the run: a path that cannot be written is bad input (exit
// 2); "-" is stdout (the guest's console then is not echoed there). A write that fails
// after the run is a host I/O error (std::runtime_error naming the path, exit 3). A
// run that ends without a verdict (no usable KVM, a bad image) leaves no file it made
// behind, rather than an empty one a script would read as broken JSON (a path that was
// there before, /dev/null say, is never removed).
class JsonFile {
public:
    explicit JsonFile(std::string path);
    JsonFile(const JsonFile&) = delete;
    JsonFile& operator=(const JsonFile&) = delete;
    ~JsonFile();
    bool is_stdout() const { return path_ == "-"; }
    void write(const nlohmann::json& object);

private:
    struct Closer {
        void operator()(std::FILE* f) const
        {
            if (f != stdout)
                std::fclose(f);
        }
    };
    std::string path_;
    std::unique_ptr<std::FILE, Closer> file_;
    bool made_here_ = false;  // the path did not exist before
    bool written_ = false;
};

}  // namespace cr3rig::cli
