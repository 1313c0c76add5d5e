// Fuzzes the one reader of the node document: any bytes give a Document (and
// a node model or an error naming a path) or an Error, never a crash, a hang
// or unbounded memory. An accepted document is written back, the output is
// linear in the input, and the output reads again to the same document.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/document.hpp"
#include "core/node.hpp"
#include "core/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  gpukit::InputLimits limits;
  limits.max_bytes = 1 << 20;
  auto doc = gpukit::Document::parse(text, "fuzz", limits);
  if (!doc) {
    // The JSON reader alone, as the requirement and site files use it.
    (void)gpukit::parse_json(text, "fuzz", limits);
    if (!gpukit::is_valid_utf8(gpukit::valid_utf8(text))) std::abort();
    return 0;
  }
  auto model = gpukit::read_node_model(*doc, "fuzz");
  if (!model && model.error().what().rfind("fuzz: /", 0) != 0) std::abort();  // every model error names a path
  (void)gpukit::read_bench_view(*doc, "fuzz");
  const std::string out = doc->dump();
  // Two spaces of indentation per level, at most 64 levels, plus a line break.
  if (out.size() > 140 * size + 64) std::abort();
  gpukit::InputLimits relaxed = limits;
  relaxed.max_bytes = out.size();
  auto again = gpukit::Document::parse(out, "fuzz output", relaxed);
  if (!again || again->root() != doc->root()) std::abort();
  return 0;
}
