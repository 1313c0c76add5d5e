// gpuprobe --format cric: the `architectures` entry of a CRIC queue (PanDA
// queue) for this node, in the shape PanDA's job brokerage checks
// (PanDAWMS/panda-docs docs/source/advanced/brokerage.rst, "Checks for CPU
// and/or GPU Hardware"; panda-jedi AtlasBrokerUtils, the architecture check):
//   {"type": "cpu", "arch": [...], "vendor": [...], "instr": [...]}
//   {"type": "gpu", "vendor": [...], "model": [...], "version": "12.4"}
// Every attribute but type and version is a list the task's value must be
// in; version is compared with the task's gpu_spec version (">=12.0").
#include "core/document.hpp"
#include "probe/format_support.hpp"

namespace gpukit {

using namespace probe_format;

namespace {

void add_unique(json& list, const std::string& value) {
  if (value.empty()) return;
  for (const auto& v : list)
    if (v == value) return;
  list.push_back(value);
}

// PanDA has no catalogue of model names (its example is "kt100"): gpukit's
// short model is the product name lower-cased, without the vendor and brand
// words, up to the first word with a digit and cut at its first '-':
// "NVIDIA A100-SXM4-40GB" -> "a100", "AMD Instinct MI250X" -> "mi250x",
// "NVIDIA GeForce RTX 4090" -> "rtx4090".
std::string short_model(const std::string& name) {
  static const std::set<std::string> brand = {"nvidia", "amd", "tesla", "geforce", "quadro", "instinct", "radeon", "intel"};
  std::string out;
  for (const std::string& word : split(lower(name), ' ')) {
    if (word.empty() || brand.count(word)) continue;
    std::string w = word.substr(0, word.find('-'));
    for (char c : w)
      if (alnum(c)) out += c;
    if (std::any_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) break;
  }
  return out;
}

std::string cpu_vendor(const std::string& vendor) {
  if (vendor == "GenuineIntel") return "intel";
  if (vendor == "AuthenticAMD") return "amd";
  return lower(vendor);
}

json cpu_entry(const NodeModel& node) {
  json e = {{"type", "cpu"}};
  std::string arch = node.cpu ? str(node.cpu->architecture) : "";
  if (arch.empty() && node.host) arch = str(node.host->arch);
  if (!arch.empty()) e["arch"] = json::array({arch});
  if (node.cpu && node.cpu->vendor && !node.cpu->vendor->empty()) e["vendor"] = json::array({cpu_vendor(*node.cpu->vendor)});
  if (node.cpu && !node.cpu->isa.empty()) e["instr"] = node.cpu->isa;
  return e;
}

// The queue's GPU version: the driver's CUDA version on NVIDIA (what a task's
// ">=12.0" means), the ROCm install's HIP version on AMD.
std::string gpu_version(const NodeModel& node, const json& vendors) {
  for (const auto& v : vendors) {
    const NodeDriver* d = node.driver(v.get<std::string>());
    if (!d) continue;
    if (v == "nvidia" && d->cuda_version) return str(d->cuda_version->raw);
    if (v == "amd" && d->hip_version) return str(d->hip_version->raw);
  }
  return "";
}

}  // namespace

std::string render_cric(const NodeModel& node) {
  json architectures = json::array({cpu_entry(node)});
  json vendors = json::array(), models = json::array();
  for (const auto& gpu : node.gpu_list()) {
    if (gpu.allocatable && !*gpu.allocatable) continue;
    add_unique(vendors, str(gpu.vendor));
    add_unique(models, short_model(str(gpu.name)));
    add_unique(models, lower(str(gpu.name)));
  }
  if (!vendors.empty()) {
    json gpu = {{"type", "gpu"}, {"vendor", vendors}, {"model", models}};
    if (auto v = gpu_version(node, vendors); !v.empty()) gpu["version"] = v;
    architectures.push_back(std::move(gpu));
  }
  return dump_json(json{{"architectures", architectures}}, 2) + "\n";
}

}  // namespace gpukit
