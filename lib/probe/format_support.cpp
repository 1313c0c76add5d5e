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

// Logical core indices (what Slurm's Cores= and hwloc's L# count) for a CPU
// list such as "0-31,64-95". Linux numbers the second hardware thread of
// core N as N + <cores> on the x86 and Arm servers we know; when the cpu
// section does not show that shape (threads not a multiple of cores) there
// is no safe mapping and nullopt is returned.
std::optional<std::string> cores_of(const std::string& cpu_list, const std::optional<NodeCpu>& cpu) {
  if (!cpu) return std::nullopt;
  auto cores = cpu->cores;
  auto threads = cpu->threads;
  if (cpu_list.empty() || !cores || !threads || *cores <= 0 || *threads % *cores != 0) return std::nullopt;
  std::set<long long> ids;
  for (const std::string& part : split(cpu_list, ',')) {
    auto dash = part.find('-');
    auto a = parse_integer<long long>(trim(part.substr(0, dash)));
    auto b = dash == std::string::npos ? a : parse_integer<long long>(trim(part.substr(dash + 1)));
    if (!a || !b || *a < 0 || *b < *a || *b - *a > 1 << 20) return std::nullopt;
    for (long long c = *a; c <= *b; ++c) ids.insert(c % *cores);
  }
  std::string out;
  for (auto it = ids.begin(); it != ids.end();) {
    long long first = *it, last = first;
    for (++it; it != ids.end() && *it == last + 1; ++it) last = *it;
    if (!out.empty()) out += ",";
    out += std::to_string(first);
    if (last != first) out += "-" + std::to_string(last);
  }
  return out;
}

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string dash_or(const std::optional<long long>& v) { return v ? std::to_string(*v) : "-"; }
std::string dash_or(const OptInt& v) { return v ? std::to_string(*v) : "-"; }

std::string header_comment(const NodeModel& node, const char* what) {
  std::string hostname = node.host ? str(node.host->hostname) : std::string();
  return std::string("# ") + what + " from gpukit " + version() + (hostname.empty() ? "" : " on " + hostname) + "\n";
}

}  // namespace gpukit::probe_format
