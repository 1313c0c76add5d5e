#include "vendors/health.hpp"

namespace gpukit {

const char* to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::pass: return "pass";
    case CheckStatus::warn: return "warn";
    case CheckStatus::fail: return "fail";
    case CheckStatus::unsupported: return "unsupported";
    case CheckStatus::timeout: return "timeout";
  }
  return "unsupported";
}

CheckStatus verdict(const std::string& text) { return text == "fail" ? CheckStatus::fail : CheckStatus::warn; }

json HealthCheck::to_json() const {
  json j = json::object();
  j["name"] = name;
  j["status"] = to_string(status);
  j["level"] = 1;
  j["value"] = value;
  j["threshold"] = threshold;
  j["source"] = source;
  j["reason"] = reason.empty() ? json() : json(reason);
  j["dcgm_code"] = dcgm_code.empty() ? json() : json(dcgm_code);
  return j;
}

HealthCheck pcie_link_check(const PcieLink& link, const HealthLimits& limits, const std::string& source) {
  HealthCheck c;
  c.name = "pcie_link";
  c.source = source;
  if (!link.current_generation || !link.current_width || !link.max_generation || !link.max_width ||
      *link.max_width == 0 || *link.max_generation == 0) {
    c.status = CheckStatus::unsupported;
    c.reason = "the link's current and maximum generation and width are not all known";
    return c;
  }
  c.value = {{"generation", *link.current_generation}, {"width", *link.current_width}};
  c.threshold = {{"generation", *link.max_generation}, {"width", *link.max_width}};
  if (*link.current_width < *link.max_width) {
    c.status = verdict(limits.pcie_width_below_max);
    c.dcgm_code = "DCGM_FR_PCIE_WIDTH";
    c.reason = "PCIe link trained at x" + std::to_string(*link.current_width) + " of x" +
               std::to_string(*link.max_width) + ": reseat the GPU or check the slot";
  } else if (*link.current_generation < *link.max_generation) {
    c.status = verdict(limits.pcie_generation_below_max);
    c.dcgm_code = "DCGM_FR_PCIE_GENERATION";
    c.reason = "PCIe link at generation " + std::to_string(*link.current_generation) + " of " +
               std::to_string(*link.max_generation) +
               " (an idle GPU may lower it to save power; gpubench --check measures under load)";
  } else {
    c.status = CheckStatus::pass;
  }
  return c;
}

}  // namespace gpukit
