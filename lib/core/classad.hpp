// ClassAd string literals, shared by gpuprobe's machine ad and gpumatch's
// submit commands and slot configuration (HTCondor manual, "ClassAd Syntax":
// a string is "..." with \" \\ \n \t and octal \ooo escapes).
#pragma once

#include <string>

namespace gpukit {

// `s` as a quoted ClassAd string: quotes and backslashes escaped, control
// characters as octal escapes, so no input can end the literal or the line.
std::string classad_string(const std::string& s);

// `s` as a PCRE pattern that matches it literally (every character that is
// not a letter, digit or space is backslash-escaped), for regexp() in ClassAds.
std::string regex_literal(const std::string& s);

}  // namespace gpukit
