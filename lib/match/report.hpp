// Human tables for gpumatch: verdicts, placements, plans and payload listings.
#pragma once

#include <string>
#include <vector>

#include "core/document.hpp"

namespace gpukit {

// From the match section (so the table shows exactly what the JSON says).
std::string render_match_table(const json& match);
std::string render_payloads_table(const json& payloads);

}  // namespace gpukit
