// Each GPU's hep_* kernels against the CPU drivers on the same Philox points:
// me_eemumu point by point (me_pointwise_tolerance), mlp_infer within the
// tolerance of its storage precision against the FP64 pass. Exit 77 without a GPU.
#include <cmath>
#include <cstdio>
#include <vector>

#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/mlp_infer.hpp"
#include "compute/kernels/names.hpp"
#include "compute/registry.hpp"

namespace {

using namespace gpukit;

int failures = 0;

void expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

template <class T>
std::vector<double> gpu_me(Device& d, hep::Precision p, std::uint64_t n, std::uint64_t seed, double sqrt_s) {
  std::vector<double> out(n);
  auto buf = d.allocate(n * sizeof(T));
  if (!buf) return {};
  KernelArgs a;
  a.out = *buf;
  a.n = n;
  a.seed = seed;
  a.scalar = sqrt_s;
  std::vector<T> host(n);
  const bool ok = d.launch(p == hep::Precision::fp64 ? kernel::hep_me_eemumu_fp64 : kernel::hep_me_eemumu_fp32, a, 0) &&
                  d.copy(host.data(), *buf, n * sizeof(T), CopyKind::device_to_host, 0) && d.synchronize();
  d.release(*buf);
  if (!ok) return {};
  for (std::uint64_t i = 0; i < n; ++i) out[i] = host[i];
  return out;
}

template <class S>
std::vector<double> gpu_mlp(Device& d, const char* name, std::uint64_t n, std::uint64_t seed) {
  std::vector<S> w(hep::mlp_weight_count), b(hep::mlp_bias_count);
  hep::mlp_make_parameters<S>(seed, w.data(), b.data());
  auto dw = d.allocate(w.size() * sizeof(S)), db = d.allocate(b.size() * sizeof(S)),
       din = d.allocate(n * hep::mlp_inputs * sizeof(S)), dout = d.allocate(n * hep::mlp_outputs * sizeof(float));
  if (!dw || !db || !din || !dout) return {};
  KernelArgs a;
  a.in0 = *dw;
  a.in1 = *db;
  a.scratch = *din;
  a.out = *dout;
  a.n = n;
  a.seed = seed;
  std::vector<float> out(n * hep::mlp_outputs);
  const bool ok = d.copy(*dw, w.data(), w.size() * sizeof(S), CopyKind::host_to_device, 0) &&
                  d.copy(*db, b.data(), b.size() * sizeof(S), CopyKind::host_to_device, 0) && d.launch(name, a, 0) &&
                  d.copy(out.data(), *dout, out.size() * sizeof(float), CopyKind::device_to_host, 0) && d.synchronize();
  for (void* p : {*dw, *db, *din, *dout}) d.release(p);
  if (!ok) return {};
  return {out.begin(), out.end()};
}

}  // namespace

int main() {
  RegistryOptions ro;
  auto registry = ComputeRegistry::open(ro);
  if (!registry || registry->gpus().empty()) {
    std::printf("no GPU: skipped\n");
    return 77;
  }
  const std::uint64_t n = 1 << 16, seed = 12345;
  const double sqrt_s = 91.1876;
  for (const auto& dev : registry->gpus()) {
    const std::string label = dev->info().name + " (" + dev->info().backend + ")";
    for (hep::Precision p : {hep::Precision::fp64, hep::Precision::fp32}) {
      hep::MeOptions o;
      o.seed = seed;
      o.events = n;
      o.sqrt_s_gev = sqrt_s;
      const hep::MeRun cpu = hep::run_me_eemumu(p, o);
      const std::vector<double> gpu = p == hep::Precision::fp64 ? gpu_me<double>(*dev, p, n, seed, sqrt_s)
                                                                : gpu_me<float>(*dev, p, n, seed, sqrt_s);
      const auto c = hep::compare_pointwise(gpu, cpu.me2, hep::me_pointwise_tolerance(p));
      expect(c.passed, label + " me_eemumu " + hep::precision_name(p) + " point by point, max relative difference " +
                           std::to_string(c.max_relative_difference));
    }
    struct Mlp { hep::Precision p; const char* kernel; };
    for (Mlp m : {Mlp{hep::Precision::fp32, kernel::hep_mlp_fp32}, Mlp{hep::Precision::fp16, kernel::hep_mlp_fp16},
                  Mlp{hep::Precision::bf16, kernel::hep_mlp_bf16}}) {
      if (!dev->unavailable_kernel(m.kernel).empty()) continue;
      hep::MlpRun run;
      run.precision = m.p;
      run.outputs = m.p == hep::Precision::fp16   ? gpu_mlp<hep::Half>(*dev, m.kernel, 512, seed)
                    : m.p == hep::Precision::bf16 ? gpu_mlp<hep::BFloat16>(*dev, m.kernel, 512, seed)
                                                  : gpu_mlp<float>(*dev, m.kernel, 512, seed);
      const hep::MlpValidation v = hep::validate_mlp(run, seed, 512);
      expect(!run.outputs.empty() && v.passed, label + " mlp_infer " + hep::precision_name(m.p) +
                                                    " against FP64, max error " + std::to_string(v.max_error));
    }
  }
  return failures == 0 ? 0 : 1;
}
