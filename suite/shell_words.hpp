// Splits a manifest value into words the way the shell does for kvm-unit-tests'
// `eval` of test_args and extra_params: blanks separate words, '...' is literal,
// "..." keeps blanks and honours \" \\ \$ \`, a backslash quotes the next character,
// backslash-newline continues a line, and a word starting with # starts a comment.
// Expansions ($VAR, `cmd`, $(cmd)) are not evaluated: they are reported instead.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cr3rig::suite {

struct ShellWords {
    std::vector<std::string> words;
    bool has_expansion = false;  // an unquoted or double-quoted $ or `
};

// Throws BadInput on an unterminated quote or a trailing backslash.
ShellWords split_shell_words(std::string_view text);

}  // namespace cr3rig::suite
