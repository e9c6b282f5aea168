#include "suite/shell_words.hpp"

#include <algorithm>

#include "common/errors.hpp"

namespace cr3rig::suite {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

ShellWords split_shell_words(std::string_view text)
{
    ShellWords out;
    std::string word;
    bool in_word = false;
    auto finish_word = [&] {
        if (in_word)
            out.words.push_back(std::move(word));
        word.clear();
        in_word = false;
    };
    for (size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        if (is_blank(c)) {
            finish_word();
            continue;
        }
        if (c == '#' && !in_word) {  // a comment, to the end of the line
            i = std::min(text.find('\n', i), text.size());
            continue;
        }
        in_word = true;
        if (c == '\'') {
            size_t close = text.find('\'', i + 1);
            if (close == std::string_view::npos)
                throw BadInput("unterminated ' quote");
            word.append(text.substr(i + 1, close - i - 1));
            i = close;
        } else if (c == '"') {
            for (i++;; i++) {
                if (i >= text.size())
                    throw BadInput("unterminated \" quote");
                if (text[i] == '"')
                    break;
                if (text[i] == '\\' && i + 1 < text.size() && std::string_view("\"\\$`").find(text[i + 1]) != std::string_view::npos)
                    i++;
                else if (text[i] == '$' || text[i] == '`')
                    out.has_expansion = true;
                word += text[i];
            }
        } else if (c == '\\') {
            if (++i >= text.size())
                throw BadInput("trailing backslash");
            if (text[i] == '\n')  // a line continuation, as in a multi-line extra_params
                in_word = !word.empty();
            else
                word += text[i];
        } else {
            out.has_expansion |= c == '$' || c == '`';
            word += c;
        }
    }
    finish_word();
    return out;
}

std::string shell_quote(std::string_view word)
{
    constexpr std::string_view kSafe = "_@%+=:,./-";
    bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               kSafe.find(c) != std::string_view::npos;
    });
    if (safe)
        return std::string(word);
    std::string out = "'";
    for (char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string command_line(const std::vector<std::string>& argv)
{
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty())
            out += ' ';
        out += shell_quote(a);
    }
    return out;
}

}  // namespace cr3rig::suite
