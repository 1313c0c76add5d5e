#include "bench/hep/hepscore_format.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <sstream>

#include "core/stats.hpp"

namespace gpukit::hep {

std::size_t median_repetition(const WorkloadMeasurement& m) {
  std::size_t reps = 0;
  for (const auto& [key, values] : m.throughput) reps = reps == 0 ? values.size() : std::min(reps, values.size());
  if (reps == 0) return 0;
  std::vector<double> means(reps);
  for (std::size_t i = 0; i < reps; ++i) {
    std::vector<double> x;
    for (const auto& [key, values] : m.throughput) x.push_back(values[i]);
    means[i] = geometric_mean(x);
  }
  std::vector<std::size_t> order(reps);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return means[a] < means[b]; });
  return order[(reps - 1) / 2];
}

json hepscore_summary(const std::vector<DeviceMeasurement>& devices, const HepscoreRunInfo& info) {
  std::map<std::string, double> scores;
  std::map<std::string, std::vector<double>> per_rep;
  for (const auto& d : devices) {
    for (const auto& w : d.workloads) {
      const std::size_t chosen = median_repetition(w);
      for (const auto& [key, values] : w.throughput) {
        const std::string k = w.workload + "_" + key;
        if (chosen < values.size()) scores[k] += values[chosen];
        std::vector<double>& sums = per_rep[k];
        if (sums.empty()) {
          sums = values;
        } else {
          sums.resize(std::min(sums.size(), values.size()));
          for (std::size_t i = 0; i < sums.size(); ++i) sums[i] += values[i];
        }
      }
    }
  }
  json wl_scores = json::object(), wl_stats = json::object();
  for (const auto& [k, v] : scores) wl_scores[k] = v;
  for (const auto& [k, v] : per_rep) {
    const Summary s = summarize(v);
    wl_stats[k] = json{{"avg", s.mean}, {"median", s.median}, {"min", s.min}, {"max", s.max}, {"count", s.count}};
  }
  json devs = json::array();
  for (const auto& d : devices)
    devs.push_back(json{{"device_id", d.id}, {"name", d.name}, {"platform", d.platform}});
  json out;
  out["run_info"] = json{{"copies", devices.size()},
                         {"threads_per_copy", info.threads_per_copy},
                         {"events_per_thread", info.events_per_thread},
                         {"extra_arguments", info.extra_arguments}};
  out["report"] = json{{"wl-scores", wl_scores}, {"wl-stats", wl_stats}, {"log", info.log}};
  out["app"] = json{{"version", info.version},
                    {"description", info.description},
                    {"cvmfs_checksum", nullptr},
                    {"bmkdata_checksum", nullptr},
                    {"bmk_checksum", nullptr},
                    {"containment", "none"},
                    {"devices", devs}};
  return out;
}

namespace {

// Shortest text that reads back as the same double (YAML and Python agree on it).
std::string exact(double v) {
  char b[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(b, sizeof b, "%.*g", digits, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  std::string s = b;
  // A YAML float needs a dot or an exponent (1e+06 is a string to YAML 1.1).
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  if (auto e = s.find('e'); e != std::string::npos && s.find('.') == std::string::npos) s.insert(e, ".0");
  return s;
}

}  // namespace

std::string hepscore_config_yaml(const Reference& reference, const std::vector<std::string>& workloads,
                                 const HepscoreConfigInfo& info) {
  std::vector<std::string> names = workloads;
  if (names.empty())
    for (const auto& [name, values] : reference.values) names.push_back(name);
  std::ostringstream y;
  y << "# hep-score configuration for gpubench's --format hepscore summary (gpukit " << info.version << ").\n"
    << "# ref_scores are the reference's values (" << reference.name << ") divided by " << exact(hepscore_ref_divisor)
    << ",\n# and scaling is the reference's scaling over the same factor: hep-score rounds each\n"
    << "# ratio and each run score to 4 decimals, which then costs nothing visible.\n"
    << "# One benchmark per gpubench workload, with gpubench's weight: hep-score's weighted\n"
    << "# geometric mean is then gpubench's device score (gpubench(1), --hepscore-config).\n";
  if (info.devices > 1)
    y << "# This summary adds up " << info.devices
      << " devices: gpubench's node score is the sum of the device scores, which\n"
      << "# a geometric mean of summed throughputs does not reproduce; run gpubench per device.\n";
  y << "hepscore:\n"
    << "  settings:\n"
    << "    name: gpubench-hep\n"
    << "    reference_machine: " << reference.name << "\n"
    << "    registry: dir:///unused/gpubench-runs-outside-containers\n"
    << "    method: geometric_mean\n"
    << "    repetitions: 1\n"
    << "    retries: 0\n"
    << "    scaling: " << exact(reference.scaling / hepscore_ref_divisor) << "\n"
    << "  benchmarks:\n";
  for (const auto& name : names) {
    auto values = reference.values.find(name);
    if (values == reference.values.end()) continue;
    auto weight = reference.weights.find(name);
    y << "    gpubench-" << name << ":\n"
      << "      version: v" << info.version << "\n"
      << "      gpu: true\n"
      << "      results_file: " << info.results_file << "\n"
      << "      weight: " << exact(weight == reference.weights.end() ? 1.0 : weight->second) << "\n"
      << "      ref_scores:\n";
    for (const auto& [key, v] : values->second)
      y << "        " << name << "_" << key << ": " << exact(v / hepscore_ref_divisor) << "\n";
  }
  return y.str();
}

}  // namespace gpukit::hep
