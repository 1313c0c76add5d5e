#include "bench/hep/mlp_infer.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>

#include "compute/cpu/hep_kernels.hpp"

namespace gpukit::hep {

namespace {

inline constexpr int cpu_tile = 16;

// The level's SIMD forward pass for storage type S.
template <class S>
void forward_lanes(const cpu::HepKernels& k, const float* w, const float* b, const S* in, std::uint64_t count,
                   float* out) {
  if constexpr (std::is_same_v<S, Half>)
    k.mlp_forward_f16(w, b, in, count, out);
  else if constexpr (std::is_same_v<S, BFloat16>)
    k.mlp_forward_bf16(w, b, in, count, out);
  else
    k.mlp_forward_f32(w, b, in, count, out);
}

template <class S>
MlpRun run_typed(Precision precision, const MlpOptions& o) {
  using Acc = typename Storage<S>::Acc;
  using W = Acc;  // the CPU widens the stored weights once (exactly) and reuses them
  std::vector<S> ws(mlp_weight_count), bs(mlp_bias_count);
  mlp_make_parameters<S>(o.seed, ws.data(), bs.data());
  std::vector<W> w(mlp_weight_count), b(mlp_bias_count);
  for (int i = 0; i < mlp_weight_count; ++i) w[i] = W(Storage<S>::to_acc(ws[i]));
  for (int i = 0; i < mlp_bias_count; ++i) b[i] = W(Storage<S>::to_acc(bs[i]));
  std::vector<S> in(o.samples * mlp_inputs);
  parallel_for(o.samples, o.threads, [&](std::uint64_t begin, std::uint64_t end) {
    for (std::uint64_t i = begin; i < end; ++i) mlp_input_row<S>(o.seed, i, in.data() + i * mlp_inputs);
  });
  std::vector<Acc> out(o.samples * mlp_outputs);
  const double t0 = monotonic_seconds();
  parallel_for(o.samples, o.threads, [&](std::uint64_t begin, std::uint64_t end) {
    if constexpr (std::is_same_v<Acc, float>) {
      if (o.kernels) {
        forward_lanes<S>(*o.kernels->hep, w.data(), b.data(), in.data() + begin * mlp_inputs, end - begin,
                         out.data() + begin * mlp_outputs);
        return;
      }
    }
    auto scratch = std::make_unique<MlpTileScratch<S, cpu_tile>>();
    for (std::uint64_t i = begin; i < end; i += cpu_tile) {
      const int count = static_cast<int>(std::min<std::uint64_t>(cpu_tile, end - i));
      mlp_forward_tile<S, W, cpu_tile>(w.data(), b.data(), in.data() + i * mlp_inputs, count,
                                       out.data() + i * mlp_outputs, *scratch);
    }
  });
  MlpRun run;
  run.duration_s = monotonic_seconds() - t0;
  run.precision = precision;
  run.outputs.assign(out.begin(), out.end());
  return run;
}

// The stored values of S, widened to double.
template <class S>
std::vector<double> reference_typed(std::uint64_t seed, std::uint64_t first, std::uint64_t count) {
  std::vector<S> ws(mlp_weight_count), bs(mlp_bias_count);
  mlp_make_parameters<S>(seed, ws.data(), bs.data());
  std::vector<double> w(mlp_weight_count), b(mlp_bias_count);
  for (int i = 0; i < mlp_weight_count; ++i) w[i] = double(Storage<S>::to_acc(ws[i]));
  for (int i = 0; i < mlp_bias_count; ++i) b[i] = double(Storage<S>::to_acc(bs[i]));
  std::vector<double> in(count * mlp_inputs);
  std::vector<S> row(mlp_inputs);
  for (std::uint64_t i = 0; i < count; ++i) {
    mlp_input_row<S>(seed, first + i, row.data());
    for (int k = 0; k < mlp_inputs; ++k) in[i * mlp_inputs + k] = double(Storage<S>::to_acc(row[k]));
  }
  std::vector<double> out(count * mlp_outputs);
  auto scratch = std::make_unique<MlpTileScratch<double, cpu_tile>>();
  for (std::uint64_t i = 0; i < count; i += cpu_tile) {
    const int n = static_cast<int>(std::min<std::uint64_t>(cpu_tile, count - i));
    mlp_forward_tile<double, double, cpu_tile>(w.data(), b.data(), in.data() + i * mlp_inputs, n,
                                               out.data() + i * mlp_outputs, *scratch);
  }
  return out;
}

}  // namespace

MlpRun run_mlp_infer(Precision precision, const MlpOptions& options) {
  switch (precision) {
    case Precision::fp64: return run_typed<double>(precision, options);
    case Precision::fp16: return run_typed<Half>(precision, options);
    case Precision::bf16: return run_typed<BFloat16>(precision, options);
    case Precision::fp32: break;
  }
  return run_typed<float>(Precision::fp32, options);
}

std::vector<double> mlp_reference_outputs(Precision storage, std::uint64_t seed, std::uint64_t first,
                                          std::uint64_t count) {
  switch (storage) {
    case Precision::fp64: return reference_typed<double>(seed, first, count);
    case Precision::fp16: return reference_typed<Half>(seed, first, count);
    case Precision::bf16: return reference_typed<BFloat16>(seed, first, count);
    case Precision::fp32: break;
  }
  return reference_typed<float>(seed, first, count);
}

double mlp_tolerance(Precision precision) {
  switch (precision) {
    case Precision::fp64: return 1e-12;
    case Precision::fp32: return 5e-6;
    case Precision::fp16: return 3e-3;
    case Precision::bf16: return 2e-2;
  }
  return 0;
}

MlpValidation validate_mlp(const MlpRun& run, std::uint64_t seed, std::uint64_t check_samples) {
  MlpValidation v;
  v.tolerance = mlp_tolerance(run.precision);
  const std::uint64_t n = std::min<std::uint64_t>(check_samples, run.outputs.size() / mlp_outputs);
  v.checked = n;
  if (n == 0) return v;
  const std::vector<double> ref = mlp_reference_outputs(run.precision, seed, 0, n);
  double scale = 0, err = 0;
  for (std::uint64_t i = 0; i < n * mlp_outputs; ++i) {
    scale = std::max(scale, std::fabs(ref[i]));
    const double e = std::fabs(run.outputs[i] - ref[i]);
    err = std::isnan(e) ? INFINITY : std::max(err, e);
  }
  v.max_error = scale > 0 ? err / scale : INFINITY;
  v.passed = v.max_error <= v.tolerance;
  return v;
}

}  // namespace gpukit::hep
