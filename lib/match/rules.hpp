// The matcher: every rule a device (a whole GPU or a MIG instance) must pass
// for a job, each with its outcome and a reason a person can act on, in the
// spirit of condor_q -better-analyze.
#pragma once

#include <string>
#include <vector>

#include "core/document.hpp"
#include "match/node.hpp"
#include "match/payload.hpp"
#include "match/requirements.hpp"
#include "match/tables.hpp"

namespace gpukit {

enum class Outcome { pass, fail, unknown };
const char* to_string(Outcome outcome);

struct RuleResult {
  std::string rule;    // "vendor", "compute_capability", "payload_code", ...
  Outcome outcome = Outcome::pass;
  std::string reason;
};

struct DeviceVerdict {
  const NodeDevice* device = nullptr;
  std::vector<RuleResult> rules;
  bool fits = false;   // no rule failed (and, when strict, none unknown)
};

struct MatchContext {
  const CompatTables& tables;
  const NodeFacts& node;
  const std::vector<PayloadInfo>& payloads;
  bool strict = false;  // an unknown outcome counts as a failure
};

DeviceVerdict evaluate_device(const Requirements& job, const NodeDevice& device, const MatchContext& context);
std::vector<DeviceVerdict> evaluate_devices(const Requirements& job, const MatchContext& context);

// The individual rules, exposed for the unit tests. Each returns the results it
// applies (none when the rule does not concern this job or device).
RuleResult rule_cuda_runtime(const Version& runtime, const std::string& what, const NodeFacts& node,
                             const CompatTables& tables, bool minor_version_compatibility);
RuleResult rule_cuda_code(const PayloadInfo& payload, const NodeDevice& device, const NodeFacts& node,
                          const CompatTables& tables, bool ptx_jit);
RuleResult rule_amd_code(const PayloadInfo& payload, const NodeDevice& device, const CompatTables& tables);
// Whether code for `code_target` (an AMD target id) loads on `device`; `why`
// gets the reason either way.
Outcome amd_target_loads(const std::string& code_target, const NodeDevice& device, const CompatTables& tables,
                         std::string& why);

json to_json(const RuleResult& rule);
json to_json(const DeviceVerdict& verdict);

}  // namespace gpukit
