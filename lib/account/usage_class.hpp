// Usage classes of a held GPU (idle-held, fp64, fp32, tensor, memory-bound,
// mixed, unknown) from the means of its activity, by rules kept as data in
// share/gpukit/usage-classes.json with thresholds a site can override.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

// Means over a job of NVML GPM's metrics: the telemetry's own type, whose
// units are those of the record.
using ActivityMeans = GpuActivity;

// The JSON keys of ActivityMeans, in order, with their members: the record,
// the series and the report name them alike.
struct ActivityField {
  const char* key;
  std::optional<double> ActivityMeans::*member;
};
const std::vector<ActivityField>& activity_fields();

json activity_to_json(const ActivityMeans& means);
// From a record's object of means; a usage error naming `path` and the key
// when a value is neither a number nor null.
Result<ActivityMeans> activity_from_json(const json& value, const std::string& path);

// The precision mix in percent of the device's peak: FP64 counts the FP64
// pipe and DFMA tensor work (double precision either way), tensor the rest of
// the tensor activity. Empty when GPM gave none of the four.
struct PrecisionActivity {
  double fp64_pct = 0, fp32_pct = 0, fp16_pct = 0, tensor_pct = 0;
  double sum() const { return fp64_pct + fp32_pct + fp16_pct + tensor_pct; }
};
std::optional<PrecisionActivity> precision_activity(const ActivityMeans& means);

struct UsageClass {
  std::string name;   // "idle-held", "fp64", ...
  std::string basis;  // "gpm", "utilization" (no GPM: the classic counters), "none"
};

class UsageClassRules {
 public:
  // The installed rules, with a site's thresholds over them when
  // `override_path` is given.
  static Result<UsageClassRules> load(const std::optional<std::string>& override_path = std::nullopt);
  // From the rules document (and an override of its thresholds); `origin`
  // names the file in errors.
  static Result<UsageClassRules> parse(const json& rules, const std::string& origin, const json* overrides = nullptr,
                                       const std::string& override_origin = {});

  // GPM means when the device had them, else the utilisation (percent of the
  // time a kernel ran); neither: "unknown" on basis "none".
  UsageClass classify(const std::optional<ActivityMeans>& means, std::optional<double> utilization_pct) const;

  const std::map<std::string, double>& thresholds() const { return thresholds_; }
  std::string source() const { return source_; }

 private:
  struct Condition {
    std::string metric;
    bool below = false;  // else at_least
    double threshold = 0;
  };
  struct Rule {
    std::string name, basis;
    std::vector<Condition> when;
  };
  std::map<std::string, double> thresholds_;
  std::vector<Rule> rules_;
  std::string source_;
};

inline const std::vector<std::string>& usage_class_names() {
  static const std::vector<std::string> names = {"idle-held", "fp64", "fp32", "tensor", "memory-bound", "mixed", "unknown"};
  return names;
}

}  // namespace gpukit
