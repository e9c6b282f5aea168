// Text for an XML 1.0 document: markup characters escaped, and what XML 1.0 cannot
// hold at all (control characters other than tab, newline and carriage return, even as
// &#..; references, and bytes that are not UTF-8) replaced by something visible.
#pragma once

#include <string>
#include <string_view>

namespace cr3rig::suite {

// Control characters become their Unicode control pictures (ESC -> U+241B), invalid
// UTF-8 becomes U+FFFD. In an attribute, tab, newline and CR are kept as references,
// which attribute-value normalization would otherwise turn into spaces.
std::string xml_escape(std::string_view text, bool attribute = false);

}  // namespace cr3rig::suite
