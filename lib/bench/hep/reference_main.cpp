// gpukit-hep-reference: measures the HEP workloads on this machine's CPU and
// writes a reference file for share/gpukit/reference/ (scripts/make-reference).
// A build-tree helper, not installed.
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "bench/hep/cpu_runner.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "core/document.hpp"
#include "core/io.hpp"
#include "core/stats.hpp"
#include "core/units.hpp"
#include "core/version.hpp"

namespace {

std::string first_field(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return {};
}

// The 1-minute load average: on a shared build machine it says how much of the
// CPU the measurement really had.
gpukit::json load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  if (in >> one) return one;
  return nullptr;
}

gpukit::json machine_description(int threads, const std::string& note) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  utsname u{};
  uname(&u);
  const std::string mem = first_field("/proc/meminfo", "MemTotal");  // "4028408 kB"
  gpukit::json m;
  m["hostname"] = host;
  m["cpu_model"] = first_field("/proc/cpuinfo", "model name");
  m["logical_cpus"] = std::thread::hardware_concurrency();
  m["threads_used"] = threads;
  const auto kib = gpukit::parse_integer<std::uint64_t>(mem.substr(0, mem.find(' ')));
  m["memory_bytes"] = kib ? gpukit::json(*kib * 1024) : gpukit::json(nullptr);
  m["os"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  m["gpu"] = nullptr;
  m["driver"] = nullptr;
  m["note"] = note;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gpukit;
  using namespace gpukit::hep;
  CLI::App app{"Measure the HEP workloads on the CPU and write a gpubench reference file"};
  std::string output, note;
  int repetitions = 3, threads = 0;
  bool quick = false;
  std::uint64_t seed = 1;
  app.add_option("--output", output, "reference file to write")->required();
  app.add_option("--repetitions", repetitions, "repetitions per workload and precision (odd)")->check(CLI::Range(1, 99));
  app.add_option("--threads", threads, "CPU threads (0: one per hardware thread)");
  app.add_option("--seed", seed, "first random seed (repetition i uses seed + i)");
  app.add_option("--note", note, "a line about the machine, kept in the file");
  app.add_flag("--quick", quick, "the fixed --quick sizes instead of the full per-core sizes");
  CLI11_PARSE(app, argc, argv);
  if (repetitions % 2 == 0) {
    std::cerr << "gpukit-hep-reference: --repetitions: must be odd\n";
    return 2;
  }
  if (threads <= 0) threads = default_thread_count();
  const HepSizes sizes = quick ? hep_quick_sizes() : hep_full_sizes(false, threads);
  const json load_before = load_average();
  // This run's share of the false-alarm budget, counted as gpubench counts.
  std::uint64_t statistical_checks = 0;
  for (const std::string& w : hep_workload_names())
    statistical_checks += static_cast<std::uint64_t>(repetitions) * hep_workload_precisions(w).size() *
                          static_cast<std::uint64_t>(hep_statistical_checks(w));
  const StatisticalThresholds thresholds = thresholds_for_run(statistical_checks);

  json workloads = json::object();
  bool all_valid = true;
  for (const std::string& w : hep_workload_names()) {
    json values = json::object(), reps = json::object(), checks = json::object();
    double flops = 0;
    for (Precision p : hep_workload_precisions(w)) {
      std::vector<double> tp;
      std::string validation;
      for (int r = 0; r < repetitions; ++r) {
        Result<HepCpuMeasurement> m = measure_hep_cpu(w, p, sizes, threads, seed + r, thresholds);
        if (!m) {
          std::cerr << "gpukit-hep-reference: " << m.error().what() << "\n";
          return 2;
        }
        std::cerr << w << " " << precision_name(p) << " rep " << r << ": " << m->throughput << " "
                  << hep_throughput_unit(w) << (m->valid ? "" : "  VALIDATION FAILED") << "\n";
        if (!m->valid) {
          all_valid = false;
          std::cerr << "  " << m->validation << "\n";
        }
        tp.push_back(m->throughput);
        validation = m->validation;
        flops = m->flops_per_item;
      }
      values[precision_name(p)] = median(tp);
      reps[precision_name(p)] = tp;
      checks[precision_name(p)] = validation;
    }
    workloads[w] = json{{"unit", hep_throughput_unit(w)},
                        {"weight", 1.0},
                        {"flops_per_item", flops > 0 ? json(flops) : json(nullptr)},
                        {"values", values},
                        {"repetitions", reps},
                        {"validation", checks}};
  }
  if (!all_valid) {
    std::cerr << "gpukit-hep-reference: a validation failed; no reference written\n";
    return 1;
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  json ref;
  ref["schema"] = "gpukit-reference/1";
  ref["name"] = std::string("provisional-cpu-") + host;
  ref["provisional"] = true;
  ref["derived_from"] = "cpu";
  ref["description"] =
      "Provisional reference measured on the CPU backend of a build machine without a GPU; replace it with one "
      "measured by gpubench on a reference GPU node.";
  ref["machine"] = machine_description(threads, note);
  ref["machine"]["load_average_1m"] = json{{"before", load_before}, {"after", load_average()}};
  ref["gpukit_version"] = version();
  ref["date"] = utc_timestamp();
  ref["source"] = "gpukit-hep-reference (scripts/make-reference), median of " + std::to_string(repetitions) +
                  " repetitions per workload and precision";
  ref["build"] = json{{"compiler", std::string("GCC ") + __VERSION__}, {"build_type", GPUKIT_HEP_BUILD_TYPE},
                      {"flags", GPUKIT_HEP_BUILD_FLAGS}};
  ref["scaling"] = 1.0;
  ref["sizes"] = json{{"quick", quick},
                      {"me_events", sizes.me_events},
                      {"shower_primaries", sizes.shower_primaries},
                      {"shower_energy_mev", sizes.shower_energy_mev},
                      {"tracks", sizes.tracks},
                      {"mlp_samples", sizes.mlp_samples}};
  ref["workloads"] = workloads;
  Status s = write_file_atomic(output, dump_json(ref, 2) + "\n");
  if (!s) {
    std::cerr << "gpukit-hep-reference: " << s.error().what() << "\n";
    return 2;
  }
  return 0;
}
