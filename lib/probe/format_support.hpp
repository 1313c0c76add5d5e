// What gpuprobe's output formats share: reading the node model's optional
// fields, naming. (Slurm's names and core indices are in core/slurm.hpp.) Internal to
// lib/probe (the format_*.cpp files); not installed.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/node.hpp"
#include "core/table.hpp"
#include "core/fsroot.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "probe/formats.hpp"
#include "probe/visible.hpp"

namespace gpukit::probe_format {

std::string str(const OptText& v);
const NodeGpu* gpu_at(const NodeModel& node, const NodeVisibleDevice& device);
const NodeMigInstance* instance_of(const NodeGpu& gpu, const std::string& uuid);
std::string lower(std::string s);
std::string upper(std::string s);
std::vector<std::string> split(const std::string& s, char sep);
inline constexpr std::uint64_t mib = 1ULL << 20;
inline constexpr std::uint64_t gib = 1ULL << 30;

// The document's visible devices, or the unrestricted view when the document
// has none (a document from an older gpuprobe, or hand-made).
Result<NodeVisible> visible_of(const Document& document, const NodeModel& node);
// "12.4" -> 12040, the CUDA driver API's encoding.
std::optional<long long> cuda_value(const NodeVersion& version);
std::optional<long long> cuda_value_of(const NodeDriver* driver);
std::string driver_raw(const NodeDriver* driver);
bool alnum(char c);
std::string dash_or(const std::optional<long long>& v);
std::string dash_or(const OptInt& v);
// "# <what> from gpukit <version> on <host>\n"
std::string header_comment(const NodeModel& node, const char* what);

}  // namespace gpukit::probe_format
