// FMA chains in FP64, FP32, FP16, BF16 and INT32: enough independent chains
// per work item and enough work items to fill every unit; each FMA counts as
// two operations.
#include <algorithm>
#include <cmath>
#include <limits>

#include "bench/reference.hpp"
#include "bench/workloads.hpp"
#include "compute/kernels/fma.cuh"

namespace gpukit::detail {

namespace {

constexpr std::uint64_t calibration_iterations = 1024;
constexpr std::uint64_t max_iterations = 1ull << 26;
constexpr std::uint64_t iteration_step = 64;  // the GPU kernels unroll the step loop

class FmaWorkload final : public Workload {
 public:
  explicit FmaWorkload(std::string precision)
      : precision_(std::move(precision)), params_(fma_parameters(precision_)), kernel_("fma_" + precision_) {}
  std::string name() const override { return kernel_; }
  std::string family() const override { return "fma"; }
  std::optional<std::string> precision() const override { return precision_; }
  std::string unit() const override { return precision_ == "int32" ? "TOP/s" : "TFLOP/s"; }
  std::string unsupported(const WorkloadContext& ctx) const override {
    return ctx.device->unavailable_kernel(kernel_);
  }

  Status prepare(WorkloadContext& ctx) override {
    items_ = std::max<std::uint64_t>(ctx.device->info().parallel_items, 1);
    auto out = ctx.device->allocate(items_ * 8);
    if (!out) return out.error();
    out_ = static_cast<double*>(*out);
    iterations_ = calibration_iterations;
    auto t = timed(ctx, 1);  // the first launch also warms the device up
    if (!t) return t.error();
    t = timed(ctx, 1);
    if (!t) return t.error();
    double scale = ctx.config.target_region_s / std::max(*t, 1e-7);
    double wanted = static_cast<double>(calibration_iterations) * std::max(scale, 1.0);
    iterations_ = std::clamp<std::uint64_t>(
        static_cast<std::uint64_t>(std::ceil(wanted / iteration_step)) * iteration_step, iteration_step, max_iterations);
    size_ = {{"work_items", items_},
             {"chains_per_item", params_.scalar_chains},
             {"iterations", iterations_},
             {"operations", ops()},
             {"multiplier", params_.multiplier},
             {"addend", params_.addend}};
    return {};
  }

  Result<Measurement> run(WorkloadContext& ctx, std::uint64_t seed) override {
    KernelArgs poison;
    poison.out = out_;
    poison.n = items_;
    poison.scalar = std::numeric_limits<double>::quiet_NaN();
    if (auto st = ctx.device->launch("fill_f64", poison, 0); !st) return st.error();
    if (auto st = ctx.device->synchronize(); !st) return st.error();
    auto t = timed(ctx, seed);
    if (!t) return t.error();
    Measurement m;
    m.seconds = *t;
    m.value = ops() / *t / 1e12;
    std::vector<double> got(items_);
    if (auto st = ctx.device->copy(got.data(), out_, items_ * 8, CopyKind::device_to_host, 0); !st) return st.error();
    if (auto st = ctx.device->synchronize(); !st) return st.error();
    Validation& v = m.validation;
    v.tolerance = params_.tolerance;
    v.method = "every work item against the closed form m^K x0 + c (1 - m^K) / (1 - m) in double";
    if (precision_ == "int32") v.method = "every work item against the exact affine map modulo 2^32";
    double worst = 0;
    std::uint64_t worst_item = 0;
    for (std::uint64_t i = 0; i < items_; ++i) {
      double err = relative_error(got[i], fma_reference(params_, seed, i, iterations_));
      if (!(err <= worst)) worst = err, worst_item = i;
    }
    v.checked = items_;
    v.max_rel_error = worst;
    v.passed = worst <= params_.tolerance;
    if (!v.passed)
      v.detail = "work item " + std::to_string(worst_item) + " = " + std::to_string(got[worst_item]) + ", expected " +
                 std::to_string(fma_reference(params_, seed, worst_item, iterations_));
    return m;
  }

  Status sustain(WorkloadContext& ctx, double seconds) override {
    double done = 0;
    while (done < seconds) {
      auto t = timed(ctx, 1);
      if (!t) return t.error();
      done += std::max(*t, 1e-6);
    }
    return {};
  }

  json problem_size() const override { return size_; }

  void release(WorkloadContext& ctx) override {
    if (out_) ctx.device->release(out_);
    out_ = nullptr;
  }

 private:
  double ops() const {
    return static_cast<double>(items_) * params_.scalar_chains * static_cast<double>(iterations_) * 2.0;
  }

  Result<double> timed(WorkloadContext& ctx, std::uint64_t seed) {
    KernelArgs k;
    k.out = out_;
    k.n = items_;
    k.seed = seed;
    k.iterations = iterations_;
    k.scalar = params_.multiplier;
    k.scalar2 = params_.addend;
    return ctx.device->time_region([&] { return ctx.device->launch(kernel_, k, 0); }, false);
  }

  std::string precision_;
  FmaParameters params_;
  std::string kernel_;
  std::uint64_t items_ = 0, iterations_ = 0;
  double* out_ = nullptr;
  json size_ = json::object();
};

}  // namespace

std::unique_ptr<Workload> make_fma_workload(const std::string& precision) {
  return std::make_unique<FmaWorkload>(precision);
}

}  // namespace gpukit::detail
