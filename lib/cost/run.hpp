// The gpucost tool: options, and the run from documents to the cost section.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/cli.hpp"
#include "core/error.hpp"

namespace gpukit {

struct CostOptions {
  CommonOptions common;
  std::optional<std::string> site;  // site parameters (JSON)
  std::optional<double> gpu_score, cpu_score, node_score, speedup, offload_fraction;
  std::optional<std::string> metric;  // "node" or "workflow"
  double variation_percent = 10;
  int samples = 10000;
  std::uint64_t seed = 42;
  std::optional<std::string> plot;  // SVG file
  bool compare = false;             // the compare subcommand
  std::vector<std::string> compare_files;
};

// Reads the node document (probing when there is none) or, for compare, the
// given documents; writes the first document with the cost section added.
Result<int> run_cost(CostOptions& options);

}  // namespace gpukit
