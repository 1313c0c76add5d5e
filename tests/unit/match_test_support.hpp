// Shared by the gpumatch unit tests: the real tables, fixture nodes, and GPU
// code containers built byte by byte.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "match/node.hpp"
#include "match/tables.hpp"
#include "test_support.hpp"

namespace gpukit::test {

inline const CompatTables& tables() {
  static const CompatTables t = [] {
    auto r = CompatTables::load(std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit");
    if (!r) throw std::runtime_error("tables: " + r.error().what());
    return *r;
  }();
  return t;
}

inline Document node_document(const std::string& name) {
  auto d = Document::parse(read_file(fixture("match/" + name)), name);
  if (!d) throw std::runtime_error(d.error().what());
  return *d;
}

inline NodeFacts node(const std::string& name) {
  auto n = read_node(node_document(name), tables(), name);
  if (!n) throw std::runtime_error(n.error().what());
  return *n;
}

inline const NodeDevice& device(const NodeFacts& n, const std::string& id) {
  for (const auto& d : n.devices)
    if (d.id == id) return d;
  throw std::runtime_error("no device " + id);
}

template <class T>
void put(std::vector<unsigned char>& b, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) b.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(v) >> (8 * i)));
}

struct FatbinEntry {
  std::uint16_t kind = 2;  // 1 PTX, 2 ELF
  std::uint32_t arch = 80;
  std::uint16_t major = 0, minor = 0;  // PTX ISA for PTX entries
  std::uint64_t flags = 0x11;
  std::vector<unsigned char> payload = std::vector<unsigned char>(32, 0xab);
};

// A fatbin as nvcc lays it out: a 16-byte header, then 64-byte entry headers
// each followed by its payload.
inline std::vector<unsigned char> make_fatbin(const std::vector<FatbinEntry>& entries) {
  std::vector<unsigned char> body;
  for (const auto& e : entries) {
    put<std::uint16_t>(body, e.kind);
    put<std::uint16_t>(body, 0x0101);
    put<std::uint32_t>(body, 64);
    put<std::uint64_t>(body, e.payload.size());
    put<std::uint32_t>(body, 0);
    put<std::uint32_t>(body, 0);
    put<std::uint16_t>(body, e.minor);
    put<std::uint16_t>(body, e.major);
    put<std::uint32_t>(body, e.arch);
    put<std::uint32_t>(body, 0);
    put<std::uint32_t>(body, 0);
    put<std::uint64_t>(body, e.flags);
    put<std::uint64_t>(body, 0);
    put<std::uint64_t>(body, 0);
    body.insert(body.end(), e.payload.begin(), e.payload.end());
  }
  std::vector<unsigned char> out;
  put<std::uint32_t>(out, 0xBA55ED50u);
  put<std::uint16_t>(out, 1);
  put<std::uint16_t>(out, 16);
  put<std::uint64_t>(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// An uncompressed clang offload bundle holding one code object per id.
inline std::vector<unsigned char> make_bundle(const std::vector<std::string>& ids, std::size_t object_size = 16) {
  std::vector<unsigned char> out;
  const std::string magic = "__CLANG_OFFLOAD_BUNDLE__";
  out.insert(out.end(), magic.begin(), magic.end());
  put<std::uint64_t>(out, ids.size());
  std::size_t header = out.size();
  for (const auto& id : ids) header += 24 + id.size();
  std::size_t offset = header;
  for (const auto& id : ids) {
    put<std::uint64_t>(out, offset);
    put<std::uint64_t>(out, object_size);
    put<std::uint64_t>(out, id.size());
    out.insert(out.end(), id.begin(), id.end());
    offset += object_size;
  }
  for (std::size_t i = 0; i < ids.size(); ++i) out.insert(out.end(), object_size, 0x7f);
  return out;
}

inline std::string payload_path(const std::string& name) { return fake("payloads/" + name); }

}  // namespace gpukit::test
