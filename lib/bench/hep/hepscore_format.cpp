#include "bench/hep/hepscore_format.hpp"

#include <algorithm>
#include <map>

#include "core/stats.hpp"

namespace gpukit::hep {

json hepscore_summary(const std::vector<DeviceMeasurement>& devices, const HepscoreRunInfo& info) {
  std::map<std::string, double> scores;
  std::map<std::string, std::vector<double>> per_rep;
  for (const auto& d : devices) {
    for (const auto& w : d.workloads) {
      for (const auto& [key, values] : w.throughput) {
        const std::string k = w.workload + "_" + key;
        scores[k] += median(values);
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

}  // namespace gpukit::hep
