// What the report tests share to look at a rendered view: render it to a string,
// count the occurrences of a piece of text in it.
#pragma once

#include <cstddef>
#include <sstream>
#include <string>

namespace cr3rig::testing {

template <typename History, typename Writer>
std::string render(const History& h, Writer write)
{
    std::ostringstream out;
    write(h, out);
    return out.str();
}

inline size_t count(const std::string& text, const std::string& what)
{
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
        n++;
    return n;
}

}  // namespace cr3rig::testing
