// Fuzzes the payload reader: ELF through libelf, fatbins and offload bundles.
// Any bytes give a PayloadInfo or an Error, never a crash or an out-of-bounds
// read (the sanitizers watch).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "match/fatbin.hpp"
#include "match/payload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto info = gpukit::inspect_payload_bytes(data, size, "fuzz");
  if (info) (void)gpukit::to_json(*info);
  // The container parsers on their own, whatever the first bytes are.
  std::vector<gpukit::CudaCodeEntry> cuda;
  (void)gpukit::parse_fatbins({data, size}, "fuzz", cuda);
  std::vector<gpukit::HipCodeEntry> hip;
  std::vector<gpukit::CompressedBundle> compressed;
  (void)gpukit::parse_offload_bundles({data, size}, "fuzz", hip, compressed);
  return 0;
}
