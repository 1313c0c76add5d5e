#include <algorithm>

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
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].name == t || all[i].family == t) chosen[i] = matched = true;
    if (!matched) {
      std::string known = "stream, fma, transfer, launch, memtest";
      for (const auto& w : all) known += ", " + w.name;
      return usage_error("unknown workload '" + t + "' (known: " + known + ")", "--workload");
    }
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < all.size(); ++i)
    if (chosen[i]) names.push_back(all[i].name);
  return names;
}

}  // namespace gpukit
