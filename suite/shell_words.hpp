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

// The reverse, for commands people copy into a shell: a word of only safe characters
// as it is, any other in '...' (a ' in it as '\''), the empty word as ''.
std::string shell_quote(std::string_view word);
std::string command_line(const std::vector<std::string>& argv);  // the words quoted, blank-separated

}  // namespace cr3rig::suite
