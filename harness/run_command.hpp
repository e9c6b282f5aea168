// Runs a shell command for the tests and the benchmark: its exit code and its stdout + stderr;
// or starts a program with its output discarded (spawn_silenced), for timing.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace cr3rig::testing {

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr, interleaved
};

inline CommandResult run_command(const std::string& command)
{
    CommandResult result;
    std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe)
        return result;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
        result.output.append(buf.data(), n);
    int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// Starts args (args[0] looked up on PATH) with stdin, stdout and stderr on /dev/null;
// the caller waits for the pid. An exec that fails exits 127.
inline pid_t spawn_silenced(const std::vector<std::string>& args)
{
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        std::vector<char*> argv;
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    if (pid < 0)
        throw std::runtime_error("fork failed");
    return pid;
}

inline std::string read_file(const std::string& path)
{
    std::string data;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::array<char, 4096> buf;
        size_t n;
        while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0)
            data.append(buf.data(), n);
        std::fclose(f);
    }
    return data;
}

}  // namespace cr3rig::testing
