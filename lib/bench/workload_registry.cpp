#include <algorithm>
#include <cmath>

#include "bench/hep/cpu_runner.hpp"
#include "bench/workloads.hpp"

namespace gpukit {

const std::vector<WorkloadEntry>& workload_registry() {
  using namespace detail;
  static const std::vector<WorkloadEntry> entries = [] {
    std::vector<WorkloadEntry> e;
    for (const char* op : {"copy", "mul", "add", "triad", "dot"})
      e.push_back({std::string("stream_") + op, "stream", [op] { return make_stream_workload(op); }});
    for (const char* p : {"fp64", "fp32", "fp16", "bf16", "int32"})
      e.push_back({std::string("fma_") + p, "fma", [p] { return make_fma_workload(p); }});
    for (bool remote : {false, true})
      for (const char* memory : {"pinned", "pageable"}) {
        if (remote && std::string(memory) == "pageable") continue;  // placement matters for DMA from pinned memory
        for (const char* dir : {"h2d", "d2h", "bidir"})
          e.push_back({std::string(dir) + "_" + memory + (remote ? "_remote" : ""), "transfer",
                       [dir, memory, remote] { return make_transfer_workload(dir, memory, remote); }});
      }
    e.push_back({"launch_latency", "launch", [] { return make_launch_workload(); }});
    e.push_back({"memtest", "memtest", [] { return make_memtest_workload(); }});
    for (const char* kind : {"write", "read", "randread", "metadata"})
      e.push_back({std::string("storage_") + kind, "storage", [kind] { return make_storage_workload(kind); }, true});
    for (const auto& w : hep::hep_workload_names())
      for (hep::Precision p : hep::hep_workload_precisions(w)) {
        const std::string precision = hep::precision_name(p);
        e.push_back({w + "_" + precision, "hep", [w, precision] { return make_hep_workload(w, precision); }});
      }
    // mlp_infer through the vendor GEMM: reported beside our own kernel, not scored.
    for (hep::Precision p : hep::hep_workload_precisions("mlp_infer")) {
      const std::string precision = hep::precision_name(p);
      e.push_back({"mlp_infer_blas_" + precision, "hep", [precision] { return make_hep_workload("mlp_infer_blas", precision); }});
    }
    return e;
  }();
  return entries;
}

Result<std::vector<std::string>> select_workloads(const std::vector<std::string>& tokens) {
  const auto& all = workload_registry();
  if (tokens.empty()) {
    std::vector<std::string> names;
    for (const auto& w : all) names.push_back(w.name);
    return names;
  }
  std::vector<bool> chosen(all.size(), false);
  for (const auto& t : tokens) {
    bool matched = false;
    // Groups: "micro" (the device micro-benchmarks: not HEP, not storage), "hep", a family, a HEP
    // workload by its name (all its precisions) or one entry.
    const auto& hep_names = hep::hep_workload_names();
    const bool hep_workload =
        std::find(hep_names.begin(), hep_names.end(), t) != hep_names.end() || t == "mlp_infer_blas";
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].name == t || all[i].family == t || (t == "micro" && all[i].family != "hep" && !all[i].node_only) ||
          (hep_workload && all[i].name.rfind(t + "_", 0) == 0))
        chosen[i] = matched = true;
    if (!matched) {
      std::string known = "micro, hep, stream, fma, transfer, launch, memtest, storage";
      for (const auto& w : hep::hep_workload_names()) known += ", " + w;
      known += ", mlp_infer_blas";
      for (const auto& w : all) known += ", " + w.name;
      return usage_error("unknown workload '" + t + "' (known: " + known + ")", "--workload");
    }
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < all.size(); ++i)
    if (chosen[i]) names.push_back(all[i].name);
  return names;
}

namespace detail {

std::uint64_t inner_repetitions(double one_s, double target_s, std::uint64_t limit) {
  if (!(one_s > 0)) return limit;
  double k = std::ceil(target_s / one_s);
  return static_cast<std::uint64_t>(std::clamp(k, 1.0, static_cast<double>(limit)));
}

Result<std::uint64_t> memory_budget(WorkloadContext& ctx, double share) {
  auto free_bytes = ctx.device->free_memory();
  if (!free_bytes) return free_bytes.error();
  auto budget = static_cast<std::uint64_t>(static_cast<double>(*free_bytes) * share);
  if (ctx.config.max_memory_bytes) budget = std::min(budget, ctx.config.max_memory_bytes);
  return budget;
}

}  // namespace detail

}  // namespace gpukit
