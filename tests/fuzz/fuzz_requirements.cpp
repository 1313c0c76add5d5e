// Fuzzes the requirement reader: any bytes give a Requirements or an Error,
// never a crash, and an accepted requirement survives its normalized form.
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
    (void)one->job_memory_bytes();
    (void)one->total_cores();
  }
  auto jobs = gpukit::parse_jobs_text(text, "fuzz");
  if (jobs)
    for (const auto& j : *jobs) (void)gpukit::to_json(j);
  return 0;
}
