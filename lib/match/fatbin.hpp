// GPU code containers, read by their documented layouts from untrusted bytes:
// the CUDA fatbin (fatBinaryHeader + per-entry headers) and the clang offload
// bundle (__CLANG_OFFLOAD_BUNDLE__ and its compressed form CCOB). Every length
// and offset is checked against the buffer; a bad one is a usage error naming
// the origin and the offset, never a read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

// A read-only view of bytes (std::span without <span> in a header nvcc may see).
struct ByteView {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  ByteView sub(std::size_t offset, std::size_t length) const { return {data + offset, length}; }
};

struct CudaCodeEntry {
  std::string kind;                 // "sass" or "ptx"
  int arch = 0;                     // 80, 90, 100
  std::string suffix;               // "", "a" (architecture-specific), "f" (family)
  std::optional<int> ptx_isa_major, ptx_isa_minor;  // PTX entries
  std::string compression;          // "none", "zstd", "lz4"
  std::uint64_t size_bytes = 0;     // as stored (compressed size when compressed)
  std::optional<std::string> toolkit;  // "13.0": the toolkit a SASS entry's cubin names
  std::string origin;               // the ELF section or "file"
  std::uint64_t offset = 0;         // of the entry header within the origin

  // "sm_90a" for SASS, "compute_80" for PTX.
  std::string target() const;
  int cc_major() const { return arch / 10; }
  int cc_minor() const { return arch % 10; }
};

// A cubin read from an uncompressed SASS entry: its tool note names the toolkit.
using CubinReader = std::optional<std::string> (*)(ByteView cubin);

// Parses the fatbins in `bytes` (one or more, back to back, zero padding
// between them allowed) and appends their entries. `read_cubin` (may be null)
// is given each uncompressed SASS image.
Status parse_fatbins(ByteView bytes, const std::string& origin, std::vector<CudaCodeEntry>& out,
                     CubinReader read_cubin = nullptr);

// The fatbin entry flags gpumatch interprets (observed in nvcc 12.x/13.0 output
// and in public decoders; see gpumatch(1) SOURCES).
namespace fatbin {
inline constexpr std::uint32_t magic = 0xBA55ED50u;
inline constexpr std::uint16_t kind_ptx = 1, kind_elf = 2, kind_old_cubin = 4;
inline constexpr std::uint64_t flag_compressed_lz4 = 0x2000, flag_compressed_zstd = 0x8000;
inline constexpr std::uint64_t flag_arch_specific = 0x100000, flag_family = 0x200000;
inline constexpr std::size_t header_size = 16, entry_min_header_size = 64;
}  // namespace fatbin

struct HipCodeEntry {
  std::string bundle_id;   // "hipv4-amdgcn-amd-amdhsa--gfx90a:xnack-"
  std::string offload_kind;  // "hipv4", "hip", "openmp"
  std::string triple;      // "amdgcn-amd-amdhsa-"
  std::string target_id;   // "gfx90a:xnack-"
  std::uint64_t size_bytes = 0;
  std::string origin;
};

struct CompressedBundle {
  int version = 0;
  std::string method;  // "zlib", "zstd", "unknown"
  std::optional<std::uint64_t> total_bytes;
  std::uint64_t uncompressed_bytes = 0;
  std::string origin;
};

// Parses the offload bundles in `bytes` (a .hip_fatbin section or a bundle
// file): uncompressed bundles give their entries (host entries are skipped),
// compressed ones only their header (gpumatch does not decompress them).
Status parse_offload_bundles(ByteView bytes, const std::string& origin, std::vector<HipCodeEntry>& entries,
                             std::vector<CompressedBundle>& compressed);

inline constexpr std::string_view offload_bundle_magic = "__CLANG_OFFLOAD_BUNDLE__";
inline constexpr std::string_view compressed_bundle_magic = "CCOB";

// An AMD target id split into its processor and feature settings:
// "gfx90a:sramecc+:xnack-" -> {"gfx90a", {{"sramecc","on"},{"xnack","off"}}}.
struct AmdTargetId {
  std::string processor;
  std::vector<std::pair<std::string, std::string>> features;  // "on"/"off"
  // "any" when the feature is not named.
  std::string setting(std::string_view feature) const;
};
std::optional<AmdTargetId> parse_amd_target_id(std::string_view text);

}  // namespace gpukit
