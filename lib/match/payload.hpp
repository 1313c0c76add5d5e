// Payload inspection: what GPU code an executable or library carries and which
// GPU runtime it needs, read without running anything. ELF through libelf;
// the containers inside through fatbin.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"
#include "match/fatbin.hpp"
#include "match/tables.hpp"

namespace gpukit {

// A GPU runtime the payload needs at run time.
struct RuntimeNeed {
  std::string api;       // "cuda", "hip"
  std::string linkage;   // "shared", "static"
  std::optional<Version> version;  // major only for "libcudart.so.12"; major.minor when known
  std::string evidence;  // why we believe it ("DT_NEEDED libcudart.so.12", ...)
  std::string library;   // "libcudart.so.12" for shared runtimes
};

struct PayloadInfo {
  std::string path;
  std::string format;  // "elf-executable", "elf-shared-object", "elf-relocatable", "fatbin", "offload-bundle", "cubin"
  std::vector<CudaCodeEntry> cuda;
  std::vector<HipCodeEntry> hip;
  std::vector<CompressedBundle> compressed_hip;
  std::vector<RuntimeNeed> runtimes;
  std::vector<std::string> notes;

  bool has_cuda_code() const { return !cuda.empty(); }
  bool has_hip_code() const { return !hip.empty() || !compressed_hip.empty(); }
  const RuntimeNeed* runtime(const std::string& api) const;
};

// The largest file inspect_payload reads (it reads the whole file into memory).
inline constexpr std::uint64_t max_payload_bytes = std::uint64_t{4} << 30;

// Inspects a file: an ELF executable, shared library or object (through
// libelf), or a bare fatbin, cubin or offload bundle. A file that cannot be
// read, is not a regular file (a FIFO, a device), is larger than
// max_payload_bytes, changes size while it is read, or whose GPU containers are
// malformed is a usage error naming the file.
Result<PayloadInfo> inspect_payload(const std::string& path);
// The same on bytes in memory (`name` is used in messages). The fuzz target.
Result<PayloadInfo> inspect_payload_bytes(const unsigned char* data, std::size_t size, const std::string& name);

json to_json(const PayloadInfo& payload);

}  // namespace gpukit
