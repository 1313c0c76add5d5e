#include "bench/health_check.hpp"

#include <cstdio>

namespace gpukit {

namespace {


json check(const std::string& name, const std::string& status, json value, json threshold, const std::string& source,
           const std::string& reason, const std::string& dcgm_code = "") {
  return {{"name", name},
          {"status", status},
          {"level", 2},
          {"value", std::move(value)},
          {"threshold", std::move(threshold)},
          {"source", source},
          {"reason", reason.empty() ? json() : json(reason)},
          {"dcgm_code", dcgm_code.empty() ? json() : json(dcgm_code)}};
}

const json* result_of(const json& device, const std::string& workload) {
  const json& results = json_member(device, "results");
  if (!results.is_array()) return nullptr;
  for (const auto& r : results)
    if (json_text(r, "workload") == workload) return &r;
  return nullptr;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A workload that did not give a number: why, as an unsupported (skipped) or failed check.
json not_measured(const std::string& name, const json* r, const std::string& source) {
  if (!r) return check(name, "unsupported", json(), json(), source, "the workload did not run on this device");
  const std::string status = json_text(*r, "status");
  const std::string why = json_text(*r, "reason");
  if (status == "failed") return check(name, "fail", json(), json(), source, "the workload failed: " + why);
  if (status == "timeout" || status == "deadline")
    return check(name, "timeout", json(), json(), source, "the workload did not finish: " + why);
  return check(name, "unsupported", json(), json(), source, why.empty() ? "not measured (" + status + ")" : why);
}

json memory_check(const json& device, const HealthLimits& limits) {
  const json* r = result_of(device, "memtest");
  const std::string source = "gpubench memtest";
  if (!r || json_text(*r, "status") != "ok" || !json_member(*r, "validation").is_object()) {
    json c = not_measured("memory_test", r, source);
    if (c["status"] == "fail") c["dcgm_code"] = "DCGM_FR_FAULTY_MEMORY";
    return c;
  }
  const json& v = (*r)["validation"];
  const bool passed = json_member(v, "passed") == true;
  const std::string detail = json_text(v, "detail");
  return check("memory_test", passed ? "pass" : "fail", {{"checked", json_member(v, "checked")}},
               {{"fail_above_errors", limits.memory_fail_above_errors}, {"usable_fraction", limits.memory_usable_fraction}},
               source, passed ? "" : "miscompares in device memory: " + detail, passed ? "" : "DCGM_FR_FAULTY_MEMORY");
}

json transfer_check(const json& device, const json& gpu, const std::string& workload, const HealthLimits& limits) {
  const std::string name = "transfer_" + workload.substr(0, 3);
  const json* r = result_of(device, workload);
  const std::string source = "gpubench " + workload;
  if (!r || json_text(*r, "status") != "ok" || !json_member(*r, "value").is_number())
    return not_measured(name, r, source);
  const double measured = json_member(*r, "value").get<double>();
  const json& pcie = json_member(gpu, "pcie");
  const json& max_gen = json_member(pcie, "max_generation");
  const json& max_width = json_member(pcie, "max_width");
  const int gen = max_gen.is_number_integer() ? max_gen.get<int>() : 0;
  const int width = max_width.is_number_integer() ? max_width.get<int>() : 0;
  const double link = pcie_link_gbs(gen, width);
  if (link <= 0)
    return check(name, "unsupported", measured, json(), source, "the PCIe link's maximum generation and width are unknown");
  const double floor = link * limits.transfer_warn_below_fraction;
  const bool low = measured < floor;
  return check(name, low ? "warn" : "pass", measured,
               {{"link_gbs", link}, {"warn_below_gbs", floor}, {"fraction", limits.transfer_warn_below_fraction}}, source,
               low ? "pinned " + workload.substr(0, 3) + " " + fixed(measured, 1) + " GB/s, under " +
                         fixed(limits.transfer_warn_below_fraction * 100, 0) + " % of the " + fixed(link, 1) +
                         " GB/s a PCIe gen " + std::to_string(gen) + " x" + std::to_string(width) + " link allows"
                   : "",
               low ? "DCGM_FR_LOW_BANDWIDTH" : "");
}

json clock_check(const json& device, const json& gpu, const HealthLimits& limits) {
  const json* r = result_of(device, "fma_fp32");
  const std::string source = "gpubench fma_fp32, SM clock read at the end of its sustained run";
  if (!r || json_text(*r, "status") != "ok") return not_measured("sm_clock_under_load", r, source);
  const json& after = json_member(json_member(*r, "telemetry"), "after");
  const json& max = json_member(json_member(gpu, "clocks"), "max_sm_mhz");
  const json& sm_clock = json_member(after, "sm_clock_mhz");
  if (!sm_clock.is_number() || !max.is_number() || max.get<double>() <= 0)
    return check("sm_clock_under_load", "unsupported", json(), json(), source,
                 "no SM clock reading during the run, or no maximum clock in the inventory");
  const double clock = sm_clock.get<double>(), limit = max.get<double>() * limits.sm_clock_warn_below_fraction;
  const bool low = clock < limit;
  std::string reasons;
  const json& throttled = json_member(after, "throttle_reasons");
  if (throttled.is_array())
    for (const auto& t : throttled)
      if (t.is_string()) reasons += (reasons.empty() ? "" : ", ") + t.get<std::string>();
  return check("sm_clock_under_load", low ? "warn" : "pass", clock,
               {{"max_sm_mhz", max}, {"warn_below_mhz", limit}, {"fraction", limits.sm_clock_warn_below_fraction}}, source,
               low ? "SM clock " + fixed(clock, 0) + " MHz under load, under " +
                         fixed(limits.sm_clock_warn_below_fraction * 100, 0) + " % of its maximum " +
                         fixed(max.get<double>(), 0) + " MHz" + (reasons.empty() ? "" : " (" + reasons + ")")
                   : "",
               low ? "DCGM_FR_CLOCK_THROTTLE_POWER" : "");
}

std::string_view rank_worse(std::string_view a, std::string_view b) {
  auto rank = [](std::string_view s) {
    return s == "fail" ? 4 : s == "timeout" ? 3 : s == "warn" ? 2 : s == "pass" ? 1 : 0;
  };
  return rank(b) > rank(a) ? b : a;
}

}  // namespace

const std::vector<std::string>& check_workloads() {
  static const std::vector<std::string> names = {"memtest", "h2d_pinned", "d2h_pinned", "fma_fp32"};
  return names;
}

double pcie_link_gbs(int generation, int width) {
  // GT/s per lane and the line code: 8b/10b to gen 2, 128b/130b from gen 3, FLIT (242/256) at gen 6.
  static const double rate[] = {0, 2.5, 5, 8, 16, 32, 64};
  if (generation < 1 || generation > 6 || width <= 0) return 0;
  const double code = generation <= 2 ? 0.8 : generation <= 5 ? 128.0 / 130.0 : 242.0 / 256.0;
  return rate[generation] * code * width / 8;
}

Result<bool> apply_level2_health(Document& document, const json& bench, const HealthLimits& limits) {
  const json* section = document.section("gpus");
  if (!section || !section->is_array()) return false;
  json gpus = *section;
  bool failed = false;
  const json& devices = json_member(bench, "devices");
  if (!devices.is_array()) return false;
  for (const auto& device : devices) {
    if (json_text(device, "kind") != "gpu") continue;
    const std::string id = json_text(device, "id");
    for (auto& gpu : gpus) {
      if (id.empty() || json_text(gpu, "uuid") != id) continue;
      json checks = json::array({memory_check(device, limits), transfer_check(device, gpu, "h2d_pinned", limits),
                                 transfer_check(device, gpu, "d2h_pinned", limits), clock_check(device, gpu, limits)});
      json health = json_member(gpu, "health").is_object() ? json_member(gpu, "health") : json::object();
      json kept = json::array();  // level-1 checks stay; an earlier level 2 is replaced
      if (json_member(health, "checks").is_array())
        for (const auto& c : json_member(health, "checks"))
          if (json_member(c, "level") != 2) kept.push_back(c);
      for (auto& c : checks) {
        failed = failed || c["status"] == "fail";
        kept.push_back(std::move(c));
      }
      std::string_view worst = "unsupported";
      std::vector<std::string> statuses;
      for (const auto& c : kept) statuses.push_back(json_text(c, "status"));
      for (const auto& st : statuses) worst = rank_worse(worst, st);
      health["level"] = 2;
      health["status"] = std::string(worst);
      health["checks"] = std::move(kept);
      gpu["health"] = std::move(health);
    }
  }
  document.set_section("gpus", std::move(gpus));
  return failed;
}

}  // namespace gpukit
