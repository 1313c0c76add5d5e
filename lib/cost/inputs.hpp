// The model's inputs, gathered from the defaults (cost-defaults.json), a site
// file, the country table (carbon-intensity.json), the hardware catalogue and
// the node documents (gpuprobe sections, bench scores and measured power).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "cost/model.hpp"

namespace gpukit {

struct CostDataFiles {
  std::string defaults;          // cost-defaults.json
  std::string carbon_intensity;  // carbon-intensity.json
  std::string hardware;          // hardware.json
};
// The installed data files (data_file()).
Result<CostDataFiles> installed_cost_data();

// Values given on the command line; they win over the documents and the site file.
struct CommandLineValues {
  std::optional<double> gpu_score, cpu_score, node_score;  // gpu_score and speedup: nodes with GPUs only
  std::optional<double> speedup;
  std::optional<double> offload_fraction;
};

struct InputDocument {
  std::string origin;  // file name, or "<stdin>"
  Document document;
};

// The site parameters of cost-defaults.json, every one with origin "default".
Result<Inputs> load_defaults(const CostDataFiles& files);

// Everything: defaults, then the site file (when given), then the documents,
// the site's per-node values and the command line. Bad values are usage errors
// whose context names the file and the key ("site.json: /pue").
Result<Inputs> load_inputs(const std::vector<InputDocument>& documents, const std::optional<std::string>& site_path,
                           const CommandLineValues& command_line, const CostDataFiles& files);

// The site parameter keys the model knows, in the order of cost-defaults.json.
const std::vector<std::string>& site_parameter_keys();

}  // namespace gpukit
