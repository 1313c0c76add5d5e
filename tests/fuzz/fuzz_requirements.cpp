// Fuzzes the requirement reader: any bytes give a Requirements or an Error,
// never a crash; an accepted requirement survives its normalized form and
// translates into submit commands and a Kubernetes fragment.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "match/emit.hpp"
#include "match/requirements.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto one = gpukit::parse_requirements_text(text, "fuzz");
  if (one) {
    gpukit::json normal = gpukit::to_json(*one);
    auto again = gpukit::parse_requirements(normal, "normalized");
    if (!again || gpukit::to_json(*again) != normal) std::abort();
    (void)gpukit::emit_condor(*one);
    (void)gpukit::emit_k8s(*one);
  }
  auto jobs = gpukit::parse_jobs_text(text, "fuzz");
  if (jobs)
    for (const auto& j : *jobs) (void)gpukit::to_json(j);
  return 0;
}
