// BabelStream's kernels (copy, mul, add, triad, dot) with its byte counting:
// 2, 2, 3, 3 and 2 arrays of 8-byte elements per index, no write-allocate
// traffic, 1 GB/s = 1e9 B/s.
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "bench/reference.hpp"
#include "bench/workloads.hpp"
#include "compute/kernels/names.hpp"
#include "compute/kernels/stream.cuh"

namespace gpukit::detail {

namespace {

constexpr double stream_scalar = 0.4;  // BabelStream's startScalar
constexpr double input_lo = 0.5, input_hi = 1.5;
constexpr std::uint64_t dot_scratch = 4096;
constexpr std::uint64_t gpu_floor_bytes = 256ull << 20;  // BabelStream's 2^25 doubles
constexpr std::uint64_t cpu_floor_bytes = 64ull << 20;
constexpr std::uint64_t min_elements = 1024;

struct Op {
  const char* name;
  const char* kernel;
  int arrays;     // counted per index
  int inputs;
  double tolerance;
};

// Tolerances: copy is bit-exact; mul, add and triad are one or two roundings
// (the kernel may fuse the triad's multiply-add); dot sums n products in a
// device-specific order (well below n * eps for positive terms).
const Op ops[] = {
    {"copy", kernel::stream_copy, kernels::stream_copy_arrays, 1, 0},
    {"mul", kernel::stream_mul, kernels::stream_mul_arrays, 1, 2.3e-16},
    {"add", kernel::stream_add, kernels::stream_add_arrays, 2, 2.3e-16},
    {"triad", kernel::stream_triad, kernels::stream_triad_arrays, 2, 4.5e-16},
    {"dot", kernel::stream_dot, kernels::stream_dot_arrays, 2, 1e-10},
};

class StreamWorkload final : public Workload {
 public:
  explicit StreamWorkload(const Op& op) : op_(op) {}
  std::string name() const override { return std::string("stream_") + op_.name; }
  std::string family() const override { return "stream"; }
  std::optional<std::string> precision() const override { return "fp64"; }
  std::string unit() const override { return "GB/s"; }
  std::string unsupported(const WorkloadContext& ctx) const override {
    return ctx.device->unavailable_kernel(op_.kernel);
  }

  Status prepare(WorkloadContext& ctx) override {
    const DeviceInfo& info = ctx.device->info();
    const std::uint64_t floor = ctx.kind == "cpu" ? cpu_floor_bytes : gpu_floor_bytes;
    std::uint64_t bytes = ctx.config.array_bytes ? ctx.config.array_bytes : std::max(4 * info.llc_bytes, floor);
    auto budget = memory_budget(ctx, ctx.kind == "cpu" ? 0.5 : 0.8);
    if (!budget) return budget.error();
    bytes = std::min(bytes, *budget / 3);
    n_ = bytes / 8;
    if (n_ < min_elements)
      return environment_error("only " + std::to_string(*budget) + " bytes available for three arrays", name());
    for (double** p : {&a_, &b_, &c_}) {
      auto m = ctx.device->allocate(n_ * 8);
      if (!m) return m.error();
      *p = static_cast<double*>(*m);
    }
    auto r = ctx.device->allocate((dot_scratch + 1) * 8);
    if (!r) return r.error();
    scratch_ = static_cast<double*>(*r);
    result_ = scratch_ + dot_scratch;
    size_ = {{"elements", n_},
             {"bytes_per_array", n_ * 8},
             {"arrays_counted", op_.arrays},
             {"bytes_counted", n_ * 8 * static_cast<std::uint64_t>(op_.arrays)},
             {"llc_bytes", info.llc_bytes ? json(info.llc_bytes) : json(nullptr)},
             {"llc_multiple", info.llc_bytes ? json(static_cast<double>(n_ * 8) / static_cast<double>(info.llc_bytes))
                                             : json(nullptr)}};
    // Calibrate: one warm launch, one timed, then enough launches per region.
    if (auto st = fill_inputs(ctx, 1); !st) return st;
    if (auto st = ctx.device->launch(op_.kernel, args(), 0); !st) return st;
    auto one = ctx.device->time_region([&] { return ctx.device->launch(op_.kernel, args(), 0); }, false);
    if (!one) return one.error();
    inner_ = inner_repetitions(*one, ctx.config.target_region_s, 1000);
    size_["launches_per_region"] = inner_;
    return {};
  }

  Result<Measurement> run(WorkloadContext& ctx, std::uint64_t seed) override {
    Device& d = *ctx.device;
    if (auto st = fill_inputs(ctx, seed); !st) return st.error();
    KernelArgs poison;
    poison.out = op_.kernel == std::string(kernel::stream_dot) ? result_ : c_;
    poison.n = op_.kernel == std::string(kernel::stream_dot) ? 1 : n_;
    poison.scalar = std::numeric_limits<double>::quiet_NaN();
    if (auto st = d.launch(kernel::fill_f64, poison, 0); !st) return st.error();
    if (auto st = d.synchronize(); !st) return st.error();
    auto t = d.time_region(
        [&]() -> Status {
          for (std::uint64_t i = 0; i < inner_; ++i)
            if (auto st = d.launch(op_.kernel, args(), 0); !st) return st;
          return {};
        },
        false);
    if (!t) return t.error();
    Measurement m;
    m.seconds = *t / static_cast<double>(inner_);
    m.value = static_cast<double>(n_ * 8 * static_cast<std::uint64_t>(op_.arrays)) / m.seconds / 1e9;
    auto v = validate(ctx, seed);
    if (!v) return v.error();
    m.validation = std::move(*v);
    return m;
  }

  Status sustain(WorkloadContext& ctx, double seconds) override {
    Device& d = *ctx.device;
    double done = 0;
    while (done < seconds) {
      auto t = d.time_region(
          [&]() -> Status {
            for (std::uint64_t i = 0; i < inner_; ++i)
              if (auto st = d.launch(op_.kernel, args(), 0); !st) return st;
            return {};
          },
          false);
      if (!t) return t.error();
      done += std::max(*t, 1e-6);
    }
    return {};
  }

  json problem_size() const override { return size_; }

  void release(WorkloadContext& ctx) override {
    for (double* p : {a_, b_, c_, scratch_})
      if (p) ctx.device->release(p);
    a_ = b_ = c_ = scratch_ = result_ = nullptr;
  }

 private:
  static std::uint64_t seed_a(std::uint64_t seed) { return seed * 4 + 1; }
  static std::uint64_t seed_b(std::uint64_t seed) { return seed * 4 + 2; }

  KernelArgs args() const {
    KernelArgs k;
    k.n = n_;
    k.in0 = a_;
    k.in1 = b_;
    k.scalar = stream_scalar;
    bool dot = op_.kernel == std::string(kernel::stream_dot);
    k.out = dot ? result_ : c_;
    k.scratch = scratch_;
    k.scratch_elements = dot_scratch;
    return k;
  }

  Status fill_inputs(WorkloadContext& ctx, std::uint64_t seed) {
    KernelArgs k;
    k.n = n_;
    k.scalar = input_lo;
    k.scalar2 = input_hi;
    k.out = a_;
    k.seed = seed_a(seed);
    if (auto st = ctx.device->launch(kernel::random_f64, k, 0); !st) return st;
    if (op_.inputs < 2) return {};
    k.out = b_;
    k.seed = seed_b(seed);
    return ctx.device->launch(kernel::random_f64, k, 0);
  }

  double expected(std::uint64_t seed, std::uint64_t i) const {
    double a = kernels::uniform(seed_a(seed), i, input_lo, input_hi);
    std::string op = op_.name;
    if (op == "copy") return a;
    if (op == "mul") return stream_scalar * a;
    double b = kernels::uniform(seed_b(seed), i, input_lo, input_hi);
    if (op == "add") return a + b;
    return a + stream_scalar * b;  // triad
  }

  Result<Validation> validate(WorkloadContext& ctx, std::uint64_t seed) {
    Validation v;
    v.tolerance = op_.tolerance;
    Device& d = *ctx.device;
    if (op_.kernel == std::string(kernel::stream_dot)) {
      double got = 0;
      if (auto st = d.copy(&got, result_, sizeof got, CopyKind::device_to_host, 0); !st) return st.error();
      if (auto st = d.synchronize(); !st) return st.error();
      std::mutex m;
      long double ref = 0;
      host_parallel_for(n_, [&](std::uint64_t b, std::uint64_t e) {
        long double s = 0;
        for (std::uint64_t i = b; i < e; ++i)
          s += static_cast<long double>(kernels::uniform(seed_a(seed), i, input_lo, input_hi)) *
               kernels::uniform(seed_b(seed), i, input_lo, input_hi);
        std::lock_guard lock(m);
        ref += s;
      });
      v.method = "the sum against a long double host sum of every product";
      v.checked = n_;
      v.max_rel_error = relative_error(got, static_cast<double>(ref));
      v.passed = *v.max_rel_error <= op_.tolerance;
      if (!v.passed) v.detail = "dot = " + std::to_string(got) + ", expected " + std::to_string(static_cast<double>(ref));
      return v;
    }
    double worst = 0;
    std::uint64_t worst_index = 0;
    std::vector<double> host;
    for (auto [b, e] : validation_ranges(n_, seed)) {
      host.resize(e - b);
      if (auto st = d.copy(host.data(), c_ + b, (e - b) * 8, CopyKind::device_to_host, 0); !st) return st.error();
      if (auto st = d.synchronize(); !st) return st.error();
      for (std::uint64_t i = b; i < e; ++i) {
        double err = relative_error(host[i - b], expected(seed, i));
        if (!(err <= worst)) worst = err, worst_index = i;
      }
      v.checked += e - b;
    }
    v.method = v.checked == n_ ? "every element against the host formula"
                               : "66 chunks of 4096 elements (first, last, random) against the host formula";
    v.max_rel_error = worst;
    v.passed = worst <= op_.tolerance;
    if (!v.passed) v.detail = "element " + std::to_string(worst_index) + " is off by a relative " + std::to_string(worst);
    return v;
  }

  Op op_;
  std::uint64_t n_ = 0, inner_ = 1;
  double *a_ = nullptr, *b_ = nullptr, *c_ = nullptr, *scratch_ = nullptr, *result_ = nullptr;
  json size_ = json::object();
};

}  // namespace

std::unique_ptr<Workload> make_stream_workload(const std::string& op) {
  for (const auto& o : ops)
    if (op == o.name) return std::make_unique<StreamWorkload>(o);
  return nullptr;
}

}  // namespace gpukit::detail
