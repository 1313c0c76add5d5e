// Escaping for the text formats several tools write: CSV fields (RFC 4180) and
// XML/SVG character data and attribute values.
#pragma once

#include <string>

namespace gpukit {

// The field as is, or quoted with its quotes doubled when it holds a comma, a
// quote or a line break.
std::string csv_field(const std::string& s);
// &, <, > and " as entities.
std::string xml_escape(const std::string& s);

}  // namespace gpukit
