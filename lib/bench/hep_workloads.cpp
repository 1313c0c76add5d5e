// The HEP workloads as runner workloads, one per workload and precision
// ("me_eemumu_fp64"): on the CPU backend through lib/bench/hep's drivers, on a
// GPU through the plugin's hep_* kernels, validated by the same host checks.
#include <algorithm>
#include <sstream>

#include "bench/hep/cpu_runner.hpp"
#include "bench/hep/em_shower.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/mlp_infer.hpp"
#include "bench/hep/track_fit.hpp"
#include "bench/workloads.hpp"
#include "compute/kernels/names.hpp"

namespace gpukit::detail {

namespace {

using hep::Precision;

// The GPU kernel of a workload and precision, "" where the plugins have none.
std::string gpu_kernel(const std::string& workload, Precision p) {
  if (workload == "me_eemumu") return p == Precision::fp64 ? kernel::hep_me_eemumu_fp64 : kernel::hep_me_eemumu_fp32;
  if (workload == "em_shower") return p == Precision::fp64 ? kernel::hep_em_shower_fp64 : kernel::hep_em_shower_fp32;
  if (workload == "track_fit") return p == Precision::fp64 ? kernel::hep_track_fit_fp64 : kernel::hep_track_fit_fp32;
  if (workload == "mlp_infer")
    return p == Precision::fp16 ? kernel::hep_mlp_fp16 : p == Precision::bf16 ? kernel::hep_mlp_bf16 : kernel::hep_mlp_fp32;
  if (workload == "mlp_infer_blas")
    return p == Precision::fp16   ? kernel::hep_mlp_blas_fp16
           : p == Precision::bf16 ? kernel::hep_mlp_blas_bf16
                                  : kernel::hep_mlp_blas_fp32;
  return {};
}

class HepWorkload final : public Workload {
 public:
  HepWorkload(std::string workload, Precision precision) : workload_(std::move(workload)), precision_(precision) {}

  std::string name() const override { return workload_ + "_" + hep::precision_name(precision_); }
  std::string family() const override { return "hep"; }
  std::optional<std::string> precision() const override { return std::string(hep::precision_name(precision_)); }
  std::string unit() const override { return hep_result_unit(workload_); }
  int statistical_checks() const override { return hep::hep_statistical_checks(workload_); }

  std::string unsupported(const WorkloadContext& ctx) const override {
    if (ctx.kind == "cpu")
      return blas() ? "the vendor-GEMM variant of mlp_infer runs on GPUs only (cuBLAS, hipBLAS); mlp_infer is the CPU's result"
                    : "";
    if (workload_ == "track_fit")
      if (auto why = ctx.device->unavailable_kernel(
              precision_ == Precision::fp64 ? kernel::hep_track_generate_fp64 : kernel::hep_track_generate_fp32);
          !why.empty())
        return why;
    return ctx.device->unavailable_kernel(gpu_kernel(workload_, precision_));
  }

  Status prepare(WorkloadContext& ctx) override {
    const DeviceInfo& info = ctx.device->info();
    gpu_ = ctx.kind != "cpu";
    quick_ = ctx.config.quick;
    thresholds_ = hep::thresholds_for_run(ctx.config.statistical_checks);
    threads_ = gpu_ ? 0 : std::max(info.compute_units, 1);
    sizes_ = ctx.config.quick ? hep::hep_quick_sizes() : hep::hep_full_sizes(gpu_, std::max(info.compute_units, 1));
    items_ = workload_ == "me_eemumu"   ? sizes_.me_events
             : workload_ == "em_shower" ? sizes_.shower_primaries
             : workload_ == "track_fit" ? sizes_.tracks
                                        : sizes_.mlp_samples;
    if (!gpu_) return {};
    return prepare_gpu(ctx);
  }

  Result<Measurement> run(WorkloadContext& ctx, std::uint64_t seed) override {
    if (gpu_) return run_gpu(ctx, seed);
    auto m = hep::measure_hep_cpu(workload_, precision_, sizes_, threads_, seed, thresholds_);
    if (!m) return m.error();
    Measurement out;
    out.value = m->throughput;
    out.seconds = m->duration_s;
    out.validation.passed = m->valid;
    out.validation.checked = static_cast<std::uint64_t>(m->items);
    out.validation.method = m->validation;
    if (!m->valid) out.validation.detail = m->validation;
    flops_per_item_ = m->flops_per_item;
    if (m->steps_per_s > 0) steps_per_s_ = m->steps_per_s;
    return out;
  }

  Status sustain(WorkloadContext& ctx, double seconds) override {
    const double start = hep::monotonic_seconds();
    std::uint64_t seed = 1;
    do {
      auto m = run(ctx, seed++);
      if (!m) return m.error();
    } while (hep::monotonic_seconds() - start < seconds);
    return {};
  }

  json problem_size() const override {
    json j = {{"items", items_}, {"quick", quick_}};
    if (workload_ == "em_shower") j["energy_mev"] = sizes_.shower_energy_mev;
    j["threads"] = gpu_ ? json(nullptr) : json(threads_);
    return j;
  }

  json details() const override {
    json d = {{"workload", workload_}, {"flops_per_item", flops_per_item_ > 0 ? json(flops_per_item_) : json(nullptr)}};
    if (blas()) d["library"] = library_.empty() ? json(nullptr) : json(library_);
    if (steps_per_s_) d["steps_per_s"] = *steps_per_s_;
    return d;
  }

  void release(WorkloadContext& ctx) override {
    for (void* p : buffers_) ctx.device->release(p);
    buffers_.clear();
  }

 private:
  Result<void*> device_buffer(WorkloadContext& ctx, std::size_t bytes) {
    auto p = ctx.device->allocate(bytes);
    if (p) buffers_.push_back(*p);
    return p;
  }

  bool blas() const { return workload_ == "mlp_infer_blas"; }

  std::size_t storage_bytes() const { return precision_ == Precision::fp64 ? 8 : precision_ == Precision::fp32 ? 4 : 2; }

  Status prepare_gpu(WorkloadContext& ctx) {
    if (workload_ == "me_eemumu") {
      flops_per_item_ = static_cast<double>(hep::me_eemumu_flops);
      auto out = device_buffer(ctx, items_ * storage_bytes());
      if (!out) return out.error();
      out_ = *out;
      return {};
    }
    if (workload_ == "em_shower") {
      const std::size_t tally = precision_ == Precision::fp64 ? sizeof(hep::ShowerTally<double>) : sizeof(hep::ShowerTally<float>);
      auto out = device_buffer(ctx, items_ * hep::shower_layers * storage_bytes());
      if (!out) return out.error();
      out_ = *out;
      auto t = device_buffer(ctx, items_ * tally);
      if (!t) return t.error();
      inputs_ = *t;
      return {};
    }
    if (workload_ == "track_fit") {
      const bool fp64 = precision_ == Precision::fp64;
      const std::size_t hits = fp64 ? sizeof(hep::TrackHits<double>) : sizeof(hep::TrackHits<float>);
      const std::size_t truth = fp64 ? sizeof(hep::TrackTruth<double>) : sizeof(hep::TrackTruth<float>);
      const std::size_t fits = fp64 ? sizeof(hep::TrackFit<double>) : sizeof(hep::TrackFit<float>);
      for (auto [bytes, slot] : {std::pair{items_ * hits, &inputs_}, std::pair{items_ * truth, &truth_},
                                 std::pair{items_ * fits, &out_}}) {
        auto p = device_buffer(ctx, bytes);
        if (!p) return p.error();
        *slot = *p;
      }
      return {};
    }
    flops_per_item_ = static_cast<double>(hep::mlp_flops_per_sample);
    library_ = ctx.device->info().vendor_blas;
    const std::size_t s = storage_bytes();
    // The tiled kernel needs room for the inputs; the vendor GEMM's pass for
    // every layer's activations and accumulators.
    const std::size_t scratch = blas() ? hep::mlp_gemm_workspace_bytes(items_, s) : items_ * hep::mlp_inputs * s;
    for (auto [bytes, slot] : {std::pair{hep::mlp_weight_count * s, &weights_}, std::pair{hep::mlp_bias_count * s, &biases_},
                               std::pair{scratch, &inputs_},
                               std::pair{items_ * hep::mlp_outputs * sizeof(float), &out_}}) {
      auto p = device_buffer(ctx, bytes);
      if (!p) return p.error();
      *slot = *p;
    }
    return {};
  }

  // The first n |M|^2 of the last launch (arguments a), as the CPU driver returns them.
  Result<hep::MeRun> me_result(WorkloadContext& ctx, const KernelArgs& a, std::uint64_t n) {
    hep::MeRun run;
    run.precision = precision_;
    run.seed = a.seed;
    run.sqrt_s_gev = a.scalar;
    run.me2.resize(n);
    if (precision_ == Precision::fp64) {
      if (auto st = ctx.device->copy(run.me2.data(), out_, n * 8, CopyKind::device_to_host, 0); !st) return st.error();
      if (auto st = ctx.device->synchronize(); !st) return st.error();
      return run;
    }
    std::vector<float> f(n);
    if (auto st = ctx.device->copy(f.data(), out_, n * 4, CopyKind::device_to_host, 0); !st) return st.error();
    if (auto st = ctx.device->synchronize(); !st) return st.error();
    std::copy(f.begin(), f.end(), run.me2.begin());
    return run;
  }

  // The deposits and tallies of the last launch, as the CPU driver returns them.
  template <class T>
  Result<hep::ShowerRun> shower_result(WorkloadContext& ctx, double energy_mev) {
    std::vector<T> dep(items_ * hep::shower_layers);
    std::vector<hep::ShowerTally<T>> tally(items_);
    if (auto st = ctx.device->copy(dep.data(), out_, dep.size() * sizeof(T), CopyKind::device_to_host, 0); !st)
      return st.error();
    if (auto st = ctx.device->copy(tally.data(), inputs_, tally.size() * sizeof(hep::ShowerTally<T>),
                                   CopyKind::device_to_host, 0);
        !st)
      return st.error();
    if (auto st = ctx.device->synchronize(); !st) return st.error();
    hep::ShowerRun run;
    run.precision = precision_;
    run.layers = hep::shower_layers;
    run.energy_mev = energy_mev;
    run.deposits.assign(dep.begin(), dep.end());
    for (const auto& t : tally) {
      run.escaped.push_back(t.escaped_mev);
      run.steps += t.steps;
    }
    return run;
  }

  // Tracks of `seed` generated on the device (not timed), then the fit timed,
  // then a sample spread over the batch validated on the host.
  template <class T>
  Result<Measurement> run_track_fit_gpu(WorkloadContext& ctx, std::uint64_t seed) {
    const bool fp64 = precision_ == Precision::fp64;
    KernelArgs g;
    g.n = items_;
    g.seed = seed;
    g.out = inputs_;
    g.scratch = truth_;
    if (auto st = ctx.device->launch(fp64 ? kernel::hep_track_generate_fp64 : kernel::hep_track_generate_fp32, g, 0);
        !st)
      return st.error();
    if (auto st = ctx.device->synchronize(); !st) return st.error();
    KernelArgs f;
    f.n = items_;
    f.in0 = inputs_;
    f.out = out_;
    const std::string k = gpu_kernel(workload_, precision_);
    auto seconds = ctx.device->time_region([&] { return ctx.device->launch(k, f, 0); }, false);
    if (!seconds) return seconds.error();
    std::vector<hep::TrackTruth<T>> truth(items_);
    std::vector<hep::TrackFit<T>> fits(items_);
    if (auto st = ctx.device->copy(truth.data(), truth_, truth.size() * sizeof(truth[0]), CopyKind::device_to_host, 0);
        !st)
      return st.error();
    if (auto st = ctx.device->copy(fits.data(), out_, fits.size() * sizeof(fits[0]), CopyKind::device_to_host, 0); !st)
      return st.error();
    if (auto st = ctx.device->synchronize(); !st) return st.error();
    const std::uint64_t stride = hep::track_validation_stride(items_);
    const hep::TrackRun run =
        hep::collect_track_run(precision_, hep::track_config<T>().layers, truth.data(), fits.data(), items_, stride);
    const hep::TrackValidation v = hep::validate_track_fit(run, hep::track_benchmark_criteria(thresholds_));
    Measurement m;
    m.seconds = *seconds;
    m.value = *seconds > 0 ? static_cast<double>(items_) / *seconds : 0;
    m.validation.passed = v.passed;
    m.validation.checked = run.pulls.size() + run.failed;
    m.validation.method = hep::track_sample_label(stride) + ": " + v.detail;
    if (!v.passed) m.validation.detail = v.detail;
    return m;
  }

  // The stored weights of `seed` in the run's storage type, copied to the device.
  template <class S>
  Status upload_mlp_parameters(WorkloadContext& ctx, std::uint64_t seed) {
    std::vector<S> w(hep::mlp_weight_count), b(hep::mlp_bias_count);
    hep::mlp_make_parameters<S>(seed, w.data(), b.data());
    if (auto st = ctx.device->copy(weights_, w.data(), w.size() * sizeof(S), CopyKind::host_to_device, 0); !st) return st;
    if (auto st = ctx.device->copy(biases_, b.data(), b.size() * sizeof(S), CopyKind::host_to_device, 0); !st) return st;
    return ctx.device->synchronize();
  }

  Result<Measurement> run_gpu(WorkloadContext& ctx, std::uint64_t seed) {
    if (workload_ == "track_fit")
      return precision_ == Precision::fp64 ? run_track_fit_gpu<double>(ctx, seed) : run_track_fit_gpu<float>(ctx, seed);
    KernelArgs a;
    a.n = items_;
    a.seed = seed;
    a.out = out_;
    if (workload_ == "me_eemumu") {
      a.scalar = hep::MeOptions{}.sqrt_s_gev;
    } else if (workload_ == "em_shower") {
      a.scalar = sizes_.shower_energy_mev;
      a.scratch = inputs_;
    } else {
      Status st = precision_ == Precision::fp16   ? upload_mlp_parameters<hep::Half>(ctx, seed)
                  : precision_ == Precision::bf16 ? upload_mlp_parameters<hep::BFloat16>(ctx, seed)
                                                  : upload_mlp_parameters<float>(ctx, seed);
      if (!st) return st.error();
      a.in0 = weights_;
      a.in1 = biases_;
      a.scratch = inputs_;
    }
    const std::string k = gpu_kernel(workload_, precision_);
    if (blas() && !blas_ready_) {
      // The library's handle and its lazily loaded GEMM kernels come with the
      // first call: made here, untimed, even with --warmup 0.
      if (auto st = ctx.device->launch(k, a, 0); !st) return st.error();
      if (auto st = ctx.device->synchronize(); !st) return st.error();
      blas_ready_ = true;
    }
    auto seconds = ctx.device->time_region([&] { return ctx.device->launch(k, a, 0); }, false);
    if (!seconds) return seconds.error();
    Measurement m;
    m.seconds = *seconds;
    m.value = *seconds > 0 ? static_cast<double>(items_) / *seconds : 0;
    if (workload_ == "me_eemumu") {
      auto run = me_result(ctx, a, items_);
      if (!run) return run.error();
      const hep::MeValidation v = hep::validate_me_eemumu(hep::estimate_cross_section(*run), hep::born_eemumu(a.scalar),
                                                          thresholds_.max_pull);
      // The same kernel off the pole, on the same buffer (not timed).
      std::vector<hep::MeRun> off_pole;
      for (double e : hep::me_check_energies_gev) {
        KernelArgs c = a;
        c.scalar = e;
        c.n = std::min(items_, hep::me_check_events);
        if (auto st = ctx.device->launch(k, c, 0); !st) return st.error();
        auto r = me_result(ctx, c, c.n);
        if (!r) return r.error();
        off_pole.push_back(std::move(*r));
      }
      const hep::MeValidation off = hep::validate_off_pole(off_pole, thresholds_.max_pull);
      std::ostringstream text;
      text << hep::me_pole_label(a.scalar, thresholds_.max_pull) << v.detail << "; " << off.detail;
      m.validation.passed = v.passed && off.passed;
      m.validation.checked = items_ + off_pole.size() * std::min(items_, hep::me_check_events);
      m.validation.method = text.str();
      if (!m.validation.passed) m.validation.detail = text.str();
      return m;
    }
    if (workload_ == "em_shower") {
      Result<hep::ShowerRun> run = precision_ == Precision::fp64 ? shower_result<double>(ctx, a.scalar)
                                                                 : shower_result<float>(ctx, a.scalar);
      if (!run) return run.error();
      if (m.seconds > 0) steps_per_s_ = static_cast<double>(run->steps) / m.seconds;
      const double tolerance = hep::shower_energy_tolerance(precision_);
      const hep::EnergyConservation c = hep::check_energy_conservation(*run, tolerance);
      std::ostringstream text;
      text << "energy conservation per event: worst |deposited + escaped - E0| / E0 = " << c.worst_relative
           << " (tolerance " << tolerance << ")";
      m.validation.passed = c.passed;
      m.validation.checked = items_;
      m.validation.max_rel_error = c.worst_relative;
      m.validation.tolerance = tolerance;
      m.validation.method = text.str();
      if (!c.passed) m.validation.detail = text.str();
      return m;
    }
    const std::uint64_t check = std::min<std::uint64_t>(items_, 512);
    std::vector<float> f(check * hep::mlp_outputs);
    if (auto st = ctx.device->copy(f.data(), out_, f.size() * sizeof(float), CopyKind::device_to_host, 0); !st)
      return st.error();
    if (auto st = ctx.device->synchronize(); !st) return st.error();
    hep::MlpRun run;
    run.precision = precision_;
    run.outputs.assign(f.begin(), f.end());
    const hep::MlpValidation v = hep::validate_mlp(run, seed, check);
    std::ostringstream text;
    text << "max |y - y_fp64| / max |y_fp64| over " << v.checked << " samples = " << v.max_error << " (tolerance "
         << v.tolerance << ")";
    m.validation.passed = v.passed;
    m.validation.checked = v.checked;
    m.validation.max_rel_error = v.max_error;
    m.validation.tolerance = v.tolerance;
    m.validation.method = text.str();
    if (!v.passed) m.validation.detail = text.str();
    return m;
  }

  std::string workload_;
  Precision precision_;
  bool gpu_ = false;
  bool quick_ = false;
  int threads_ = 0;
  hep::HepSizes sizes_;
  hep::StatisticalThresholds thresholds_;  // the run's share of the false-alarm budget
  std::uint64_t items_ = 0;
  double flops_per_item_ = 0;
  std::optional<double> steps_per_s_;
  std::string library_;  // mlp_infer_blas: the vendor GEMM's name, version and file
  bool blas_ready_ = false;
  std::vector<void*> buffers_;
  void *out_ = nullptr, *weights_ = nullptr, *biases_ = nullptr, *inputs_ = nullptr, *truth_ = nullptr;
};

}  // namespace

std::string hep_result_unit(const std::string& workload) {
  if (workload == "me_eemumu") return "events/s";
  if (workload == "em_shower") return "primaries/s";
  if (workload == "track_fit") return "tracks/s";
  return "samples/s";
}

std::unique_ptr<Workload> make_hep_workload(const std::string& workload, const std::string& precision) {
  return std::make_unique<HepWorkload>(workload, hep::parse_precision(precision).value_or(Precision::fp32));
}

}  // namespace gpukit::detail
