#include "match/fatbin.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace gpukit {

namespace {

template <class T>
T load_le(const unsigned char* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(p[i]) << (8 * i);
  return v;
}

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

Error malformed(const std::string& origin, std::uint64_t offset, const std::string& what) {
  return usage_error(what + " at offset " + std::to_string(offset), origin);
}

bool all_zero(ByteView b, std::size_t from) {
  for (std::size_t i = from; i < b.size; ++i)
    if (b.data[i] != 0) return false;
  return true;
}

}  // namespace

std::string CudaCodeEntry::target() const {
  return (kind == "ptx" ? "compute_" : "sm_") + std::to_string(arch) + suffix;
}

Status parse_fatbins(ByteView bytes, const std::string& origin, std::vector<CudaCodeEntry>& out, CubinReader read_cubin) {
  std::size_t pos = 0;
  while (pos < bytes.size) {
    // Sections are padded between fatbins; padding is zeros.
    if (bytes.size - pos < fatbin::header_size) {
      if (all_zero(bytes, pos)) break;
      return malformed(origin, pos, "truncated fatbin header");
    }
    const unsigned char* h = bytes.data + pos;
    std::uint32_t magic = load_le<std::uint32_t>(h);
    if (magic == 0) {
      pos += 4;
      continue;
    }
    if (magic != fatbin::magic) return malformed(origin, pos, "not a fatbin (magic " + hex(magic) + ")");
    std::uint16_t header_size = load_le<std::uint16_t>(h + 6);
    std::uint64_t fat_size = load_le<std::uint64_t>(h + 8);
    std::size_t left = bytes.size - pos;
    if (header_size < fatbin::header_size || header_size > left)
      return malformed(origin, pos, "fatbin header size " + std::to_string(header_size) + " out of range");
    if (fat_size > left - header_size)
      return malformed(origin, pos, "fatbin size " + std::to_string(fat_size) + " runs past the end (" +
                                        std::to_string(left - header_size) + " bytes left)");
    std::size_t entry = pos + header_size;
    const std::size_t end = entry + static_cast<std::size_t>(fat_size);
    while (entry < end) {
      if (end - entry < fatbin::entry_min_header_size)
        return malformed(origin, entry, "truncated fatbin entry header");
      const unsigned char* e = bytes.data + entry;
      std::uint16_t kind = load_le<std::uint16_t>(e);
      std::uint32_t entry_header_size = load_le<std::uint32_t>(e + 4);
      std::uint64_t payload_size = load_le<std::uint64_t>(e + 8);
      std::uint16_t minor = load_le<std::uint16_t>(e + 24);
      std::uint16_t major = load_le<std::uint16_t>(e + 26);
      std::uint32_t arch = load_le<std::uint32_t>(e + 28);
      std::uint64_t flags = load_le<std::uint64_t>(e + 40);
      if (entry_header_size < fatbin::entry_min_header_size || entry_header_size > end - entry)
        return malformed(origin, entry, "fatbin entry header size " + std::to_string(entry_header_size) + " out of range");
      if (payload_size > end - entry - entry_header_size)
        return malformed(origin, entry, "fatbin entry size " + std::to_string(payload_size) + " runs past its fatbin");
      if (arch == 0 || arch > 1000) return malformed(origin, entry, "fatbin entry architecture " + std::to_string(arch) + " out of range");
      CudaCodeEntry c;
      c.origin = origin;
      c.offset = entry;
      c.arch = static_cast<int>(arch);
      c.size_bytes = payload_size;
      c.suffix = (flags & fatbin::flag_arch_specific) ? "a" : (flags & fatbin::flag_family) ? "f" : "";
      c.compression = (flags & fatbin::flag_compressed_zstd) ? "zstd" : (flags & fatbin::flag_compressed_lz4) ? "lz4" : "none";
      if (kind == fatbin::kind_ptx) {
        c.kind = "ptx";
        c.ptx_isa_major = major;
        c.ptx_isa_minor = minor;
        out.push_back(std::move(c));
      } else if (kind == fatbin::kind_elf || kind == fatbin::kind_old_cubin) {
        c.kind = "sass";
        if (read_cubin && c.compression == "none" && payload_size > 0)
          c.toolkit = read_cubin(bytes.sub(entry + entry_header_size, static_cast<std::size_t>(payload_size)));
        out.push_back(std::move(c));
      }
      // Other kinds carry no code the driver loads; they are skipped.
      entry += entry_header_size + static_cast<std::size_t>(payload_size);
    }
    pos = end;
  }
  return {};
}

std::string AmdTargetId::setting(std::string_view feature) const {
  for (const auto& [name, value] : features)
    if (name == feature) return value;
  return "any";
}

std::optional<AmdTargetId> parse_amd_target_id(std::string_view text) {
  AmdTargetId t;
  auto colon = text.find(':');
  t.processor = std::string(text.substr(0, colon));
  if (t.processor.size() < 4 || t.processor.rfind("gfx", 0) != 0) return std::nullopt;
  for (char c : t.processor)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return std::nullopt;
  while (colon != std::string_view::npos) {
    auto next = text.find(':', colon + 1);
    std::string_view f = text.substr(colon + 1, next == std::string_view::npos ? std::string_view::npos : next - colon - 1);
    if (f.size() < 2 || (f.back() != '+' && f.back() != '-')) return std::nullopt;
    t.features.emplace_back(std::string(f.substr(0, f.size() - 1)), f.back() == '+' ? "on" : "off");
    colon = next;
  }
  return t;
}

namespace {

// <kind>-<arch>-<vendor>-<os>-<env>[-<target id>]; the target id may itself
// contain '-' (xnack-, gfx9-4-generic), so only the first five fields split.
bool split_bundle_id(const std::string& id, HipCodeEntry& e) {
  std::size_t dash[5];
  std::size_t p = 0;
  for (int i = 0; i < 5; ++i) {
    p = id.find('-', p);
    if (p == std::string::npos) {
      // "host-x86_64-unknown-linux": host entries may omit the environment.
      if (i >= 1) e.offload_kind = id.substr(0, dash[0]);
      if (i >= 4) e.triple = id.substr(dash[0] + 1);
      return i >= 4 || (i >= 1 && e.offload_kind == "host");
    }
    dash[i] = p++;
  }
  e.offload_kind = id.substr(0, dash[0]);
  e.triple = id.substr(dash[0] + 1, dash[4] - dash[0] - 1);
  e.target_id = id.substr(dash[4] + 1);
  return true;
}

Status parse_one_bundle(ByteView b, std::size_t start, const std::string& origin, std::vector<HipCodeEntry>& entries,
                        std::size_t& extent) {
  std::size_t left = b.size - start;
  const std::size_t magic_size = offload_bundle_magic.size();
  if (left < magic_size + 8) return malformed(origin, start, "truncated offload bundle header");
  const unsigned char* base = b.data + start;
  std::uint64_t count = load_le<std::uint64_t>(base + magic_size);
  // Each entry needs at least 24 bytes of header.
  if (count == 0 || count > (left - magic_size - 8) / 24)
    return malformed(origin, start, "offload bundle entry count " + std::to_string(count) + " out of range");
  std::size_t p = magic_size + 8;
  std::size_t max_end = p;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (left - p < 24) return malformed(origin, start + p, "truncated offload bundle entry");
    std::uint64_t offset = load_le<std::uint64_t>(base + p);
    std::uint64_t size = load_le<std::uint64_t>(base + p + 8);
    std::uint64_t id_size = load_le<std::uint64_t>(base + p + 16);
    p += 24;
    if (id_size == 0 || id_size > 4096 || id_size > left - p)
      return malformed(origin, start + p - 8, "offload bundle id length " + std::to_string(id_size) + " out of range");
    std::string id(reinterpret_cast<const char*>(base + p), static_cast<std::size_t>(id_size));
    p += static_cast<std::size_t>(id_size);
    if (offset > left || size > left - offset)
      return malformed(origin, start + p, "offload bundle entry \"" + id + "\" runs past the end");
    max_end = std::max({max_end, p, static_cast<std::size_t>(offset + size)});
    for (char c : id)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
        return malformed(origin, start + p, "offload bundle id is not printable");
    HipCodeEntry e;
    e.bundle_id = id;
    e.size_bytes = size;
    e.origin = origin;
    if (!split_bundle_id(id, e)) return malformed(origin, start + p, "offload bundle id \"" + id + "\" is not <kind>-<triple>-<target>");
    if (e.offload_kind == "host") continue;
    entries.push_back(std::move(e));
  }
  extent = max_end;
  return {};
}

Status parse_compressed_bundle(ByteView b, std::size_t start, const std::string& origin,
                               std::vector<CompressedBundle>& out, std::size_t& extent) {
  std::size_t left = b.size - start;
  const unsigned char* base = b.data + start;
  if (left < 8) return malformed(origin, start, "truncated compressed bundle header");
  CompressedBundle c;
  c.origin = origin;
  c.version = load_le<std::uint16_t>(base + 4);
  std::uint16_t method = load_le<std::uint16_t>(base + 6);
  // llvm::compression::Format: 0 zlib, 1 zstd.
  c.method = method == 0 ? "zlib" : method == 1 ? "zstd" : "unknown";
  std::size_t header = 0;
  switch (c.version) {
    case 1:
      header = 20;
      if (left < header) return malformed(origin, start, "truncated compressed bundle header");
      c.uncompressed_bytes = load_le<std::uint32_t>(base + 8);
      break;
    case 2:
      header = 24;
      if (left < header) return malformed(origin, start, "truncated compressed bundle header");
      c.total_bytes = load_le<std::uint32_t>(base + 8);
      c.uncompressed_bytes = load_le<std::uint32_t>(base + 12);
      break;
    case 3:
      header = 32;
      if (left < header) return malformed(origin, start, "truncated compressed bundle header");
      c.total_bytes = load_le<std::uint64_t>(base + 8);
      c.uncompressed_bytes = load_le<std::uint64_t>(base + 16);
      break;
    default:
      return malformed(origin, start, "compressed bundle version " + std::to_string(c.version) + " is not 1, 2 or 3");
  }
  if (c.total_bytes && (*c.total_bytes < header || *c.total_bytes > left))
    return malformed(origin, start, "compressed bundle size " + std::to_string(*c.total_bytes) + " out of range");
  extent = c.total_bytes ? static_cast<std::size_t>(*c.total_bytes) : header;
  out.push_back(std::move(c));
  return {};
}

std::size_t find_bundle(ByteView b, std::size_t from) {
  for (std::size_t i = from; i < b.size; ++i) {
    std::size_t left = b.size - i;
    if (left >= offload_bundle_magic.size() &&
        std::memcmp(b.data + i, offload_bundle_magic.data(), offload_bundle_magic.size()) == 0)
      return i;
    if (left >= compressed_bundle_magic.size() &&
        std::memcmp(b.data + i, compressed_bundle_magic.data(), compressed_bundle_magic.size()) == 0)
      return i;
  }
  return b.size;
}

}  // namespace

Status parse_offload_bundles(ByteView bytes, const std::string& origin, std::vector<HipCodeEntry>& entries,
                             std::vector<CompressedBundle>& compressed) {
  std::size_t pos = find_bundle(bytes, 0);
  if (pos == bytes.size && !all_zero(bytes, 0)) return malformed(origin, 0, "no offload bundle found");
  while (pos < bytes.size) {
    std::size_t extent = 0;
    // find_bundle stops only where a whole magic fits.
    bool is_compressed =
        std::memcmp(bytes.data + pos, compressed_bundle_magic.data(), compressed_bundle_magic.size()) == 0;
    Status st = is_compressed ? parse_compressed_bundle(bytes, pos, origin, compressed, extent)
                              : parse_one_bundle(bytes, pos, origin, entries, extent);
    if (!st) return st;
    // Bundles are aligned in the section: the next starts at the next magic.
    pos = find_bundle(bytes, pos + std::max<std::size_t>(extent, 1));
  }
  return {};
}

}  // namespace gpukit
