#include "probe/format_health.hpp"

#include "core/table.hpp"
#include "probe/health.hpp"

namespace gpukit {

namespace {

std::string classad_text(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The node's failed checks' reasons, which fail every GPU.
std::string node_failures(const NodeModel& node) {
  std::string out;
  if (!node.health) return out;
  for (const auto* c : node.health->failures())
    out += (out.empty() ? "" : "; ") + c->name + (c->reason ? ": " + *c->reason : std::string());
  return out;
}

std::string failures_of(const NodeGpu& gpu, const NodeModel& node) {
  std::string out = health_failure_summary(gpu), n = node_failures(node);
  if (!n.empty()) out += (out.empty() ? "" : "; ") + n;
  return out;
}

std::string status_of(const NodeGpu& gpu, const NodeModel& node) {
  std::string s = health_status_of(gpu);
  if (node.health && !node.health->failures().empty()) s = "fail";
  return s;
}

}  // namespace

void add_health_classad_props(std::map<std::string, std::string>& props, const NodeGpu& gpu, const NodeModel& node) {
  if (!has_health(node)) return;
  std::string status = status_of(gpu, node);
  props["Health"] = classad_text(status.empty() ? "unknown" : status);
  if (std::string why = failures_of(gpu, node); !why.empty()) props["HealthReason"] = classad_text(why);
}

std::string health_classad_node(const NodeModel& node) {
  if (!has_health(node)) return "";
  return "GPUsHealthy=" + std::to_string(healthy_gpu_count(node)) + "\n";
}

void add_health_nfd_labels(std::map<std::string, std::string>& labels, const NodeModel& node) {
  if (!has_health(node) || node.gpu_list().empty()) return;
  std::string worst = "unsupported";
  if (node.health && node.health->status) worst = std::string(worse_health_status(worst, *node.health->status));
  for (const auto& g : node.gpu_list()) {
    const std::string status = health_status_of(g);
    worst = std::string(worse_health_status(worst, status));
  }
  const int healthy = healthy_gpu_count(node);
  labels["gpukit.io/gpu.health"] = worst;
  labels["gpukit.io/gpu.healthy"] = std::to_string(healthy);
  labels["gpukit.io/gpu.unhealthy"] = std::to_string(static_cast<int>(node.gpu_list().size()) - healthy);
}

bool health_gres_left_out(const NodeGpu& gpu, const NodeModel& node, std::string& comments) {
  std::string why = failures_of(gpu, node);
  if (why.empty()) return false;
  std::string name = gpu.uuid ? *gpu.uuid : gpu.pci_bus_id.value_or("?");
  comments += "# GPU " + (gpu.index ? std::to_string(*gpu.index) : std::string("?")) + " (" + name +
              ") left out, unhealthy: " + why + "\n";
  return true;
}

std::string health_table(const NodeModel& node) {
  if (!has_health(node)) return "";
  std::string out = "\nHealth: " + std::to_string(healthy_gpu_count(node)) + " of " +
                    std::to_string(node.gpu_list().size()) + " GPUs healthy\n";
  Table table({"GPU", "check", "status", "value", "reason"});
  auto rows = [&](const std::string& who, const NodeHealth& h) {
    for (const auto& c : h.checks)
      if (c.status != "pass")
        table.add_row({who, c.name, c.status, c.value.is_null() ? "-" : dump_json(c.value), c.reason.value_or("-")});
  };
  if (node.health) rows("node", *node.health);
  for (const auto& g : node.gpu_list())
    if (g.health) rows(g.index ? std::to_string(*g.index) : "?", *g.health);
  if (table.empty()) return out + "  every check passed\n";
  const std::string rendered = table.render();
  for (std::size_t at = 0, next; at < rendered.size(); at = next + 1) {
    next = rendered.find('\n', at);
    if (next == std::string::npos) next = rendered.size();
    if (next > at) out += "  " + rendered.substr(at, next - at) + "\n";
  }
  return out;
}

}  // namespace gpukit
