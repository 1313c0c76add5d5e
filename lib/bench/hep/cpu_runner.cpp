#include "bench/hep/cpu_runner.hpp"

#include <algorithm>
#include <sstream>

#include "bench/hep/em_shower.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/mlp_infer.hpp"
#include "bench/hep/track_fit.hpp"
#include "compute/cpu/cpu_kernels.hpp"

namespace gpukit::hep {

const std::vector<std::string>& hep_workload_names() {
  static const std::vector<std::string> names{"me_eemumu", "em_shower", "track_fit", "mlp_infer"};
  return names;
}

std::vector<Precision> hep_workload_precisions(const std::string& workload) {
  if (workload == "mlp_infer") return {Precision::fp32, Precision::fp16, Precision::bf16};
  if (workload == "me_eemumu" || workload == "em_shower" || workload == "track_fit")
    return {Precision::fp64, Precision::fp32};
  return {};
}

int hep_statistical_checks(const std::string& workload) {
  if (workload == "me_eemumu") return me_statistical_checks;
  if (workload == "track_fit") return track_statistical_checks;
  return 0;
}

const char* hep_throughput_unit(const std::string& workload) {
  if (workload == "me_eemumu") return "matrix_elements_per_s";
  if (workload == "em_shower") return "primaries_per_s";
  if (workload == "track_fit") return "tracks_per_s";
  if (workload == "mlp_infer") return "samples_per_s";
  return "";
}

Result<HepCpuMeasurement> measure_hep_cpu(const std::string& workload, Precision precision, const HepSizes& sizes,
                                          int threads, std::uint64_t seed, const StatisticalThresholds& thresholds) {
  const std::vector<Precision> allowed = hep_workload_precisions(workload);
  if (allowed.empty()) return usage_error("unknown HEP workload '" + workload + "'");
  if (std::find(allowed.begin(), allowed.end(), precision) == allowed.end())
    return usage_error(std::string("workload ") + workload + " has no " + precision_name(precision) + " variant");
  HepCpuMeasurement m;
  m.workload = workload;
  m.precision = precision;
  std::ostringstream detail;
  if (workload == "me_eemumu") {
    auto kernels = cpu::select_kernel_set();
    if (!kernels) return kernels.error();
    MeOptions o;
    o.kernels = *kernels;
    o.seed = seed;
    o.events = sizes.me_events;
    o.threads = threads;
    const MeRun run = run_me_eemumu(precision, o);
    const MeValidation v =
        validate_me_eemumu(estimate_cross_section(run), born_eemumu(o.sqrt_s_gev), thresholds.max_pull);
    std::vector<MeRun> off_pole;
    for (double e : me_check_energies_gev) {
      MeOptions c = o;
      c.sqrt_s_gev = e;
      c.events = std::min(o.events, me_check_events);
      off_pole.push_back(run_me_eemumu(precision, c));
    }
    const MeValidation off = validate_off_pole(off_pole, thresholds.max_pull);
    m.items = static_cast<double>(o.events);
    m.duration_s = run.duration_s;
    m.flops_per_item = static_cast<double>(me_eemumu_flops);
    m.valid = v.passed && off.passed;
    detail << me_pole_label(o.sqrt_s_gev, thresholds.max_pull) << v.detail << "; " << off.detail;
  } else if (workload == "em_shower") {
    auto kernels = cpu::select_kernel_set();
    if (!kernels) return kernels.error();
    ShowerOptions o;
    o.kernels = *kernels;
    o.seed = seed;
    o.primaries = sizes.shower_primaries;
    o.energy_mev = sizes.shower_energy_mev;
    o.threads = threads;
    const ShowerRun run = run_em_shower(precision, o);
    const EnergyConservation c = check_energy_conservation(run, shower_energy_tolerance(run.precision));
    m.items = static_cast<double>(o.primaries);
    m.duration_s = run.duration_s;
    m.steps_per_s = run.duration_s > 0 ? static_cast<double>(run.steps) / run.duration_s : 0;
    m.valid = c.passed;
    detail << "energy conservation per event: worst |deposited + escaped - E0| / E0 = " << c.worst_relative
           << " (tolerance " << shower_energy_tolerance(run.precision) << ")";
  } else if (workload == "track_fit") {
    auto kernels = cpu::select_kernel_set();
    if (!kernels) return kernels.error();
    TrackOptions o;
    o.kernels = *kernels;
    o.seed = seed;
    o.tracks = sizes.tracks;
    o.threads = threads;
    o.validation_stride = track_validation_stride(o.tracks);
    const TrackRun run = run_track_fit(precision, o);
    const TrackValidation v = validate_track_fit(run, track_benchmark_criteria(thresholds));
    m.items = static_cast<double>(o.tracks);
    m.duration_s = run.duration_s;
    m.valid = v.passed;
    detail << track_sample_label(o.validation_stride) << ": " << v.detail;
  } else {
    auto kernels = cpu::select_kernel_set();
    if (!kernels) return kernels.error();
    MlpOptions o;
    o.kernels = *kernels;
    o.seed = seed;
    o.samples = sizes.mlp_samples;
    o.threads = threads;
    const MlpRun run = run_mlp_infer(precision, o);
    const MlpValidation v = validate_mlp(run, seed);
    m.items = static_cast<double>(o.samples);
    m.duration_s = run.duration_s;
    m.flops_per_item = static_cast<double>(mlp_flops_per_sample);
    m.valid = v.passed;
    detail << "max |y - y_fp64| / max |y_fp64| over " << v.checked << " samples = " << v.max_error << " (tolerance "
           << v.tolerance << ")";
  }
  m.throughput = m.duration_s > 0 ? m.items / m.duration_s : 0;
  m.validation = detail.str();
  return m;
}

}  // namespace gpukit::hep
