// Text from outside the document (arguments, environment, job ads, /proc,
// driver strings) made fit for JSON, whose strings must be UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace gpukit {

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` with each byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD (the replacement character, as the JSON writer does):
// a Latin-1 "M\xfcller" becomes "M\uFFFDller". Valid text is returned as it is.
std::string valid_utf8(std::string_view text);

}  // namespace gpukit
