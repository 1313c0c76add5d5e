#include "probe/format_support.hpp"

namespace gpukit::probe_format {

std::string str(const OptText& v) { return v.value_or(""); }

const NodeGpu* gpu_at(const NodeModel& node, const NodeVisibleDevice& device) {
  const auto& gpus = node.gpu_list();
  if (!device.gpu_index || *device.gpu_index < 0 || static_cast<size_t>(*device.gpu_index) >= gpus.size()) return nullptr;
  return &gpus[static_cast<size_t>(*device.gpu_index)];
}

const NodeMigInstance* instance_of(const NodeGpu& gpu, const std::string& uuid) {
  for (const auto& inst : gpu.mig_instances)
    if (str(inst.uuid) == uuid) return &inst;
  return nullptr;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

// The document's visible devices, or the unrestricted view when the document
// has none (a document from an older gpuprobe, or hand-made).
Result<NodeVisible> visible_of(const Document& document, const NodeModel& node) {
  if (node.visible) return *node.visible;
  const json* gpus = document.section("gpus");
  return read_visible_section(visible_section(gpus ? *gpus : json::array(), {}), "visible");
}

// "12.4" -> 12040, the CUDA driver API's encoding.
std::optional<long long> cuda_value(const NodeVersion& version) {
  if (version.value) return *version.value;
  if (version.parts.size() >= 2) return version.parts[0] * 1000 + version.parts[1] * 10;
  return std::nullopt;
}

std::optional<long long> cuda_value_of(const NodeDriver* driver) {
  if (!driver || !driver->cuda_version) return std::nullopt;
  return cuda_value(*driver->cuda_version);
}

std::string driver_raw(const NodeDriver* driver) {
  return driver && driver->driver_version ? str(driver->driver_version->raw) : std::string();
}

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string dash_or(const std::optional<long long>& v) { return v ? std::to_string(*v) : "-"; }
std::string dash_or(const OptInt& v) { return v ? std::to_string(*v) : "-"; }

std::string header_comment(const NodeModel& node, const char* what) {
  std::string hostname = node.host ? str(node.host->hostname) : std::string();
  return std::string("# ") + what + " from gpukit " + version() + (hostname.empty() ? "" : " on " + hostname) + "\n";
}

}  // namespace gpukit::probe_format
