// The bench section of the node document, and its table and CSV renderings.
#pragma once

#include <string>
#include <vector>

#include "bench/runner.hpp"
#include "compute/plugin_loader.hpp"
#include "core/document.hpp"

namespace gpukit {

struct ReportContext {
  RunConfig config;
  std::string started_at;                 // ISO 8601 UTC
  std::vector<PluginReport> plugins;
  json telemetry = json::object();        // per source: "ok" or why not
};

json result_json(const ResultRecord& r);
json bench_section(const RunReport& run, const ReportContext& context);

// The section as a terminal table / as CSV (one line per result, node results
// under the device "node").
std::string render_bench_table(const json& bench);
std::string render_bench_csv(const json& bench);

}  // namespace gpukit
