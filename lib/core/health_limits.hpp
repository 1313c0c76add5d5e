// The thresholds of the GPU health checks (gpuprobe --health, gpubench --check):
// share/gpukit/health-thresholds.json, each entry with its source, overridden
// entry by entry by the file GPUKIT_SITE_HEALTH names.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

struct HealthLimits {
  double retired_pages_fail_at = 0;
  double ecc_volatile_fail_above = 0;
  double ecc_aggregate_warn_above = 0;
  double pcie_replay_warn_above = 0;
  std::string pcie_width_below_max, pcie_generation_below_max;  // "fail" or "warn"
  unsigned long long clocks_fail_mask = 0, clocks_warn_mask = 0;
  std::string persistence_disabled;                             // "fail" or "warn"
  double xid_wait_s = 0, xid_fail_above = 0;
  std::vector<std::string> cuda_environment;
  std::string cuda_environment_set;                             // "fail" or "warn"
  double amd_bad_pages_fail_at = 0, amd_ecc_fail_above = 0;
  // level 2
  double transfer_warn_below_fraction = 0, sm_clock_warn_below_fraction = 0;
  double memory_fail_above_errors = 0, memory_usable_fraction = 0;
  // check name -> where its threshold comes from (the file's "source", "site: FILE" when overridden)
  std::map<std::string, std::string> sources;

  std::string source(const std::string& check) const;
};

// The shipped thresholds with the site's overrides. A missing or malformed entry
// is an error naming the file and the JSON path (usage error for the site's
// file, environment error for the shipped one).
Result<HealthLimits> load_health_limits();
// The same from given texts (tests); `site` empty when there is no override.
Result<HealthLimits> parse_health_limits(const std::string& shipped, const std::string& shipped_origin,
                                         const std::string& site, const std::string& site_origin);

}  // namespace gpukit
